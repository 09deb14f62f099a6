package clickhouse

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"math"
	"reflect"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/clickhouse/chtest"
)

func TestBind(t *testing.T) {
	tests := []struct {
		q    string
		args []any
		want string
	}{
		{"SELECT ?", []any{"it's \\ \x00\n"}, `SELECT 'it\'s \\ \0\n'`},
		{"SELECT ?, ?, ?", []any{int64(-5), uint64(math.MaxUint64), 2.0}, "SELECT toInt64(-5), toUInt64(18446744073709551615), reinterpretAsFloat64(unhex('0000000000000040'))"},
		{"SELECT ?, ?, ?", []any{math.NaN(), math.Inf(1), math.Inf(-1)}, "SELECT nan, inf, -inf"},
		{"SELECT ?, ?", []any{true, nil}, "SELECT 1, NULL"},
		{"SELECT '?', `a?b`, \"c?\", ?", []any{"x"}, "SELECT '?', `a?b`, \"c?\", 'x'"},
		{"SELECT 'it''s ?', ?", []any{"y"}, "SELECT 'it''s ?', 'y'"},
		{"SELECT TRUE AND NOT false, truth, 'TRUE'", nil, "SELECT 1 AND NOT 0, truth, 'TRUE'"},
		{"WHERE x IN (?, ?)", []any{"a", "b"}, "WHERE x IN ('a', 'b')"},
	}
	for _, tc := range tests {
		got, err := bind(tc.q, tc.args)
		if err != nil || got != tc.want {
			t.Errorf("bind(%q, %v) = %q, %v; want %q", tc.q, tc.args, got, err, tc.want)
		}
	}
	for _, bad := range []struct {
		q    string
		args []any
	}{{"SELECT ?", nil}, {"SELECT 1", []any{1}}, {"SELECT 'open", nil}, {"SELECT ?", []any{struct{}{}}}} {
		if got, err := bind(bad.q, bad.args); err == nil {
			t.Errorf("bind(%q, %v) = %q, want an error", bad.q, bad.args, got)
		}
	}
}

// TestBindRoundTrip sends every byte value through a literal and back.
func TestBindRoundTrip(t *testing.T) {
	s := openTest(t, Config{})
	var all []byte
	for i := range 256 {
		all = append(all, byte(i))
	}
	for _, v := range []string{string(all), "日本語 ✓", `\'"` + "`?"} {
		rows, err := s.c.rows(context.Background(), "SELECT ?, length(?)", v, v)
		if err != nil {
			t.Fatal(err)
		}
		if rows[0][0] != v || rows[0][1] != int64(len(v)) {
			t.Errorf("round trip of %q: %q (%v)", v, rows[0][0], rows[0][1])
		}
	}
	rows, err := s.c.rows(context.Background(), "SELECT ?, ?, ?, toTypeName(?)", int64(math.MinInt64), 5e-324, -2.5, int64(1))
	if err != nil {
		t.Fatal(err)
	}
	if want := []any{int64(math.MinInt64), 5e-324, -2.5, "Int64"}; !reflect.DeepEqual(rows[0], want) {
		t.Errorf("numbers: %v, want %v", rows[0], want)
	}
}

// TestMaxResultBytes: an answer past the limit is ErrQueryTooLarge.
func TestMaxResultBytes(t *testing.T) {
	s := openTest(t, Config{MaxResultBytes: 1000})
	if _, err := s.c.rows(context.Background(), "SELECT number FROM system.numbers LIMIT 100"); err != nil {
		t.Fatalf("a small answer: %v", err)
	}
	_, err := s.c.rows(context.Background(), "SELECT number FROM system.numbers LIMIT 1000")
	if !errors.Is(err, store.ErrQueryTooLarge) {
		t.Fatalf("a large answer: %v, want ErrQueryTooLarge", err)
	}
}

func TestParseException(t *testing.T) {
	tests := []struct {
		in   string
		code int
		msg  string
	}{
		{"Code: 62, e.displayText() = DB::Exception: Syntax error: failed at position 1, e.what() = DB::Exception\n", 62, "Syntax error: failed at position 1"},
		{"Code: 60. DB::Exception: Table default.x does not exist. (UNKNOWN_TABLE) (version 26.7.1.1)\n", 60, "Table default.x does not exist. (UNKNOWN_TABLE) (version 26.7.1.1)"},
		{"something else", 0, "something else"},
	}
	for _, tc := range tests {
		e := parseException([]byte(tc.in))
		if e.Code != tc.code || e.Message != tc.msg {
			t.Errorf("parseException(%q) = %d %q, want %d %q", tc.in, e.Code, e.Message, tc.code, tc.msg)
		}
	}
	if !errors.Is(&Error{Code: codeNotEnoughSpace}, store.ErrNoSpace) || !errors.Is(&Error{Code: codeMemoryLimitExceeded}, store.ErrQueryTooLarge) ||
		!errors.Is(&Error{Code: codeTooManyParts}, ErrUnavailable) || errors.Is(&Error{Code: 62}, ErrUnavailable) {
		t.Error("error codes map to the wrong store errors")
	}
}

// TestServerErrors: a query the server refuses is its exception; a server
// that is not there is ErrUnavailable (retryable, ingest answers 503).
func TestServerErrors(t *testing.T) {
	s := openTest(t, Config{})
	err := s.c.exec(context.Background(), "SELEC 1")
	var ce *Error
	if !errors.As(err, &ce) || ce.Code != 62 || errors.Is(err, ErrUnavailable) {
		t.Errorf("syntax error: %v", err)
	}
	port, err := chtest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	ports := []int{port}
	c, err := newClient("http://127.0.0.1:"+itoa(ports[0]), "x")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.exec(context.Background(), "SELECT 1"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("no server: %v, want ErrUnavailable", err)
	}
	if _, err := Open(context.Background(), Config{URL: "http://127.0.0.1:" + itoa(ports[0])}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Open without a server: %v, want ErrUnavailable", err)
	}
	if _, err := Open(context.Background(), Config{URL: s.cfg.URL, Cluster: "c"}); err == nil {
		t.Error("Open with a cluster: no error")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestParseTSV(t *testing.T) {
	raw := "a\tb\tc\td\te\n" +
		"Nullable(String)\tUInt64\tFloat64\tNullable(Nothing)\tString\n" +
		"x\\ty\\\\z\\n\t18446744073709551615\t-inf\t\\N\t\\0\n" +
		"\\N\t7\tnan\t\\N\t\n"
	names, types, rows, err := parseTSV([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 5 || types[1] != "UInt64" || len(rows) != 2 {
		t.Fatalf("names %v types %v rows %v", names, types, rows)
	}
	if rows[0][0] != "x\ty\\z\n" || rows[0][1] != uint64(math.MaxUint64) || rows[0][2] != math.Inf(-1) || rows[0][3] != nil || rows[0][4] != "\x00" {
		t.Errorf("row 0: %#v", rows[0])
	}
	if rows[1][0] != nil || rows[1][1] != int64(7) || !math.IsNaN(rows[1][2].(float64)) {
		t.Errorf("row 1: %#v", rows[1])
	}
	if _, _, _, err := parseTSV([]byte("a\nUInt8\n1\t2\n")); err == nil {
		t.Error("a row with too many fields: no error")
	}
}

// TestEventRoundTrip encodes events as Write does and decodes them as
// reads do (the column orders of eventColumns and readColumns).
func TestEventRoundTrip(t *testing.T) {
	evs := []model.Event{
		{Dataset: "d", Time: time.Unix(0, 1234567890123456789).UTC(), Source: model.SourceXRay, TraceID: model.TraceID{1, 2, 15: 3},
			SpanID: model.SpanID{9}, ParentID: model.SpanID{7: 1}, Name: "n", ServiceName: "svc", DurationMs: 1.5, SpanKind: "server",
			StatusCode: 2, Error: true, SampleRate: 10, Doc: []byte{0, 1, 2},
			Attrs: []model.Attr{{Key: "s", Value: model.Str("v")}, {Key: "i", Value: model.Int(-1)}, {Key: "f", Value: model.Float(0.25)},
				{Key: "b", Value: model.Bool(true)}, {Key: "s2", Value: model.Str("")}}},
		{Dataset: "d", Time: time.Unix(0, 0).UTC(), AnnotationType: model.AnnotationLink, SampleRate: 1},
	}
	var b bytes.Buffer
	for i := range evs {
		encodeEvent(&b, "env", 1, &evs[i], 42, uint32(i))
	}
	got := decodeInserted(t, b.Bytes())
	if len(got) != len(evs) {
		t.Fatalf("%d events decoded", len(got))
	}
	for i := range evs {
		// Attributes come back grouped by type.
		sort.SliceStable(got[i].Attrs, func(a, b int) bool { return got[i].Attrs[a].Key < got[i].Attrs[b].Key })
		sort.SliceStable(evs[i].Attrs, func(a, b int) bool { return evs[i].Attrs[a].Key < evs[i].Attrs[b].Key })
		if !reflect.DeepEqual(got[i], evs[i]) {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, got[i], evs[i])
		}
	}
}

// decodeInserted decodes rows of eventColumns with the read decoder,
// skipping the insert's leading env and day.
func decodeInserted(t testing.TB, data []byte) []model.Event {
	t.Helper()
	var out []model.Event
	r := &rbReader{r: bufio.NewReader(bytes.NewReader(data))}
	d := &decoder{names: map[uint32]string{1: "d"}}
	for {
		if _, err := r.r.Peek(1); err != nil {
			return out
		}
		_ = r.str() // env
		_ = r.read(2)
		ev, err := d.decode(r)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		out = append(out, ev)
	}
}
