package postgres

import (
	"encoding/json"
	"testing"

	"github.com/tracecomb/tracecomb/internal/state"
)

// FuzzDecodeChange: any payload decodes without panicking, to a change
// whose encoding (as the trigger writes it) decodes back to itself, or to
// "reload everything".
func FuzzDecodeChange(f *testing.F) {
	for _, s := range []string{`["keys","prod","k1"]`, `["keys", "", "k"]`, ``, `[]`, `["","a","b"]`, `["a","b"]`, `{"a":1}`, `["a","b","c","d"]`, `["a",1,"c"]`, `["\u00e9","\n","\""]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		c := decodeChange(payload)
		if c.Kind == "" {
			if c != (state.Change{}) {
				t.Fatalf("%q: a change without a kind but with %+v", payload, c)
			}
			return
		}
		enc, err := json.Marshal([]string{string(c.Kind), c.Scope, c.Key})
		if err != nil {
			t.Fatal(err)
		}
		if back := decodeChange(string(enc)); back != c {
			t.Fatalf("%q: %+v encodes to %s, which decodes to %+v", payload, c, enc, back)
		}
	})
}

func TestDecodeChange(t *testing.T) {
	for _, tc := range []struct {
		payload string
		want    state.Change
	}{
		{`["keys","prod","k1"]`, state.Change{Kind: "keys", Scope: "prod", Key: "k1"}},
		{`["keys","","k"]`, state.Change{Kind: "keys", Key: "k"}},
		{``, state.Change{}},
		{`["","a","b"]`, state.Change{}},
		{`["a","b"]`, state.Change{}},
		{`["a",1,"c"]`, state.Change{}},
	} {
		if got := decodeChange(tc.payload); got != tc.want {
			t.Errorf("decodeChange(%q) = %+v, want %+v", tc.payload, got, tc.want)
		}
	}
}
