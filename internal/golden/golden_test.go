package golden

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	for _, tc := range []struct{ want, got, has string }{
		{"a\nb\nc\n", "a\nB\nc\n", "first difference at line 2:\n-    2 b\n-    3 c"},
		{"a\n", "a\nextra\n", "+    2 extra"},
	} {
		if d := Diff(tc.want, tc.got); !strings.Contains(d, tc.has) {
			t.Errorf("Diff(%q, %q) = %q, want it to contain %q", tc.want, tc.got, d, tc.has)
		}
	}
}

// TestCheck: an equal file passes, a different or missing one fails (seen
// through a recording testing.TB).
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.golden")
	if err := os.WriteFile(path, []byte("same\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, got string
		fails     bool
	}{
		{path, "same\n", false},
		{path, "other\n", true},
		{filepath.Join(dir, "missing.golden"), "x", true},
	} {
		rec := &recorder{TB: t}
		func() {
			defer func() { _ = recover() }()
			Check(rec, tc.path, []byte(tc.got))
		}()
		if rec.failed != tc.fails {
			t.Errorf("Check(%s, %q): failed %v, want %v", tc.path, tc.got, rec.failed, tc.fails)
		}
	}
}

type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true; panic("fatal") }
func (r *recorder) Fatal(...any)          { r.failed = true; panic("fatal") }
