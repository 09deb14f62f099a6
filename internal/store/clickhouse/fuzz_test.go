package clickhouse

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
)

// FuzzBind: binding never panics, and what it binds has no placeholder
// left outside quotes and as many literals as arguments.
func FuzzBind(f *testing.F) {
	f.Add("SELECT ? WHERE x = '?' AND `?` = TRUE", "it's", int64(5), 1.5)
	f.Add("SELECT '\\'?", "\x00", int64(-1), 5e-324)
	f.Add("?", "`", int64(0), 0.0)
	f.Fuzz(func(t *testing.T, q, s string, i int64, fl float64) {
		n := strings.Count(q, "?")
		args := make([]any, 0, n)
		for k := range n {
			switch k % 3 {
			case 0:
				args = append(args, s)
			case 1:
				args = append(args, i)
			default:
				args = append(args, fl)
			}
		}
		out, err := bind(q, args)
		if err != nil {
			return // placeholders inside quotes, an open quote
		}
		// Re-binding the output with no arguments must find no
		// placeholder: every ? of the output is inside a literal.
		if _, err := bind(out, nil); err != nil {
			t.Fatalf("bind(%q) = %q, which has a placeholder or open quote left: %v", q, out, err)
		}
	})
}

// FuzzParseTSV: decoding any answer never panics.
func FuzzParseTSV(f *testing.F) {
	f.Add([]byte("a\tb\nNullable(String)\tFloat64\n\\N\tinf\nx\\t\t1.5\n"))
	f.Add([]byte("Code: 62, e.displayText() = DB::Exception: Syntax error"))
	f.Add([]byte("a\nUInt64\n18446744073709551615\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		names, types, rows, err := parseTSV(raw)
		if err != nil {
			return
		}
		for _, r := range rows {
			if len(r) != len(types) || len(names) != len(types) {
				t.Fatalf("row of %d values for %d names, %d types", len(r), len(names), len(types))
			}
		}
	})
}

// FuzzDecode: decoding any RowBinary answer never panics nor allocates
// beyond what the input can hold; an encoded event decodes to itself.
func FuzzDecode(f *testing.F) {
	var b bytes.Buffer
	e := model.Event{Time: time.Unix(0, 5).UTC(), Name: "n", SampleRate: 1, Attrs: []model.Attr{{Key: "k", Value: model.Str("v")}}}
	encodeEvent(&b, "env", 1, &e, 1, 0)
	f.Add(b.Bytes()[5:]) // without env and day
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 64))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &rbReader{r: bufio.NewReader(bytes.NewReader(data))}
		d := &decoder{names: map[uint32]string{1: "d"}, env: newEnvCat("e"), s: &Store{cat: &catalog{}}}
		for range 100 {
			if _, err := r.r.Peek(1); err != nil {
				return
			}
			if _, err := d.decode(r); err != nil {
				return
			}
		}
	})
}

// FuzzParsePartition: any partition text is parsed or refused, never a
// panic; a parsed one gives back its environment.
func FuzzParsePartition(f *testing.F) {
	f.Add(`('prod','2026-03-04')`)
	f.Add(`('it\'s/xray','1970-01-01')`)
	f.Add(`(`)
	f.Fuzz(func(t *testing.T, text string) {
		env, day, ok := parsePartition(text)
		if ok && day.IsZero() {
			t.Fatalf("parsePartition(%q) = %q, zero day", text, env)
		}
	})
}
