package query

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		src  string
		want string // the spec as JSON
	}{
		{``, `{}`},
		{`COUNT`, `{"calculations":[{"op":"COUNT"}]}`},
		{`count, p99(duration_ms)`, `{"calculations":[{"op":"COUNT"},{"op":"P99","column":"duration_ms"}]}`},
		{`COUNT, P99(duration_ms) WHERE http.status_code >= 500 GROUP BY name ORDER BY COUNT DESC LIMIT 10 LAST 1h`,
			`{"calculations":[{"op":"COUNT"},{"op":"P99","column":"duration_ms"}],"filters":[{"column":"http.status_code","op":">=","value":500}],"breakdowns":["name"],"orders":[{"op":"COUNT","order":"descending"}],"limit":10,"time_range":3600}`},
		{`WHERE name starts-with 'GET /api' AND error = true`,
			`{"filters":[{"column":"name","op":"starts-with","value":"GET /api"},{"column":"error","op":"=","value":true}]}`},
		{`WHERE a = 1 OR b != "x y" OR c < -2.5`,
			`{"filters":[{"column":"a","op":"=","value":1},{"column":"b","op":"!=","value":"x y"},{"column":"c","op":"<","value":-2.5}],"filter_combination":"OR"}`},
		{`WHERE user in (u1, 'u 2', 3) AND x NOT IN (1) AND y not-in (true)`,
			`{"filters":[{"column":"user","op":"in","value":["u1","u 2",3]},{"column":"x","op":"not-in","value":[1]},{"column":"y","op":"not-in","value":[true]}]}`},
		{`WHERE size exists AND gone does-not-exist AND s contains foo AND t does-not-contain bar AND u ends-with .js AND v does-not-end-with x AND w does-not-start-with y`,
			`{"filters":[{"column":"size","op":"exists"},{"column":"gone","op":"does-not-exist"},{"column":"s","op":"contains","value":"foo"},{"column":"t","op":"does-not-contain","value":"bar"},{"column":"u","op":"ends-with","value":".js"},{"column":"v","op":"does-not-end-with","value":"x"},{"column":"w","op":"does-not-start-with","value":"y"}]}`},
		{"WHERE `weird column!` = 1", `{"filters":[{"column":"weird column!","op":"=","value":1}]}`},
		{`HEATMAP(duration_ms) LAST 30m EVERY 1m`, `{"calculations":[{"op":"HEATMAP","column":"duration_ms"}],"time_range":1800,"granularity":60}`},
		{`COUNT GROUP BY service.name, name ORDER BY name, COUNT ASC, AVG(x) DESC`,
			`{"calculations":[{"op":"COUNT"}],"breakdowns":["service.name","name"],"orders":[{"column":"name"},{"op":"COUNT","order":"ascending"},{"op":"AVG","column":"x","order":"descending"}]}`},
		{`COUNT GROUP BY name HAVING COUNT > 5 AND P99(duration_ms) <= 2.5`,
			`{"calculations":[{"op":"COUNT"}],"breakdowns":["name"],"havings":[{"calculate_op":"COUNT","op":">","value":5},{"calculate_op":"P99","column":"duration_ms","op":"<=","value":2.5}]}`},
		{`COUNT SINCE 2026-01-02T15:00:00Z UNTIL 1767369600`, `{"calculations":[{"op":"COUNT"}],"start_time":1767366000,"end_time":1767369600}`},
		{`COUNT LAST 1h30m`, `{"calculations":[{"op":"COUNT"}],"time_range":5400}`},
		{`COUNT LAST 7d`, `{"calculations":[{"op":"COUNT"}],"time_range":604800}`},
		{`CONCURRENCY, RATE_SUM(bytes), COUNT_DISTINCT(trace.trace_id), MIN(a), MAX(a), SUM(a), P001(a), P999(a)`,
			`{"calculations":[{"op":"CONCURRENCY"},{"op":"RATE_SUM","column":"bytes"},{"op":"COUNT_DISTINCT","column":"trace.trace_id"},{"op":"MIN","column":"a"},{"op":"MAX","column":"a"},{"op":"SUM","column":"a"},{"op":"P001","column":"a"},{"op":"P999","column":"a"}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			s, err := Parse(tc.src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := string(s.MarshalCanonical()); got != tc.want {
				t.Fatalf("spec:\n got  %s\n want %s", got, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		src  string
		col  int
		want string
	}{
		{`COUNTS`, 1, "expected a calculation"},
		{`COUNT,`, 7, "expected a calculation"},
		{`P99(duration_ms`, 16, "expected ')'"},
		{`COUNT WHERE`, 12, "expected a column name"},
		{`COUNT WHERE a`, 14, "expected an operator"},
		{`COUNT WHERE a ~ 1`, 15, "unexpected character"},
		{`COUNT WHERE a = 1 AND b = 2 OR c = 3`, 29, "cannot mix AND and OR"},
		{`COUNT WHERE a = 'x`, 17, "unterminated '"},
		{`COUNT WHERE a in 1`, 18, "expected '('"},
		{`COUNT WHERE a in (1 2)`, 21, "expected ',' or ')'"},
		{`COUNT WHERE a = GET /home`, 21, "expected WHERE"},
		{`COUNT GROUP name`, 13, "expected BY"},
		{`COUNT LIMIT ten`, 13, "whole number"},
		{`COUNT LAST 1y`, 12, "duration"},
		{`COUNT LAST 1h LAST 2h`, 15, "given twice"},
		{`COUNT SINCE yesterday`, 13, "expected a time"},
		{`COUNT HAVING COUNT > many`, 22, "expected a number"},
		{`COUNT HAVING COUNT is 3`, 20, "expected a comparison"},
		{`COUNT WHERE a ! 3`, 15, "'!' must be followed"},
		{`COUNT UNTIL 5`, 7, "expected WHERE"},
		{`COUNT WHERé a = 1`, 7, "expected WHERE"},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			_, err := Parse(tc.src)
			se, ok := err.(*SyntaxError)
			if !ok {
				t.Fatalf("err = %v, want a SyntaxError", err)
			}
			if se.Col != tc.col || !strings.Contains(se.Msg, tc.want) {
				t.Fatalf("err = %v, want column %d and %q", err, tc.col, tc.want)
			}
		})
	}
}

// FuzzParse: the parser never panics, and what it accepts survives a trip
// through JSON and validation without panicking.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`COUNT, P99(duration_ms) WHERE http.status_code >= 500 GROUP BY name ORDER BY COUNT DESC LIMIT 10 LAST 1h`,
		`HEATMAP(duration_ms) WHERE a in (1, 'x', true) OR b exists LAST 30m EVERY 1m`,
		`COUNT GROUP BY name HAVING COUNT > 5 ORDER BY name DESC SINCE 2026-01-02T15:00:00Z UNTIL 1767369600`,
		"WHERE `a b` does-not-contain \"q\\\"uote\"",
		`CONCURRENCY, RATE_MAX(x) LAST 1w2d3h4m5s`,
		`COUNT WHERE a = 'unterminated`, `(((`, `P99(`, `WHERE a NOT IN (`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		s, err := Parse(src)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("error %T: %v", err, err)
			}
			return
		}
		b := s.MarshalCanonical()
		back, err := DecodeSpec(strings.NewReader(string(b)))
		if err != nil {
			t.Fatalf("spec %s does not decode: %v", b, err)
		}
		if string(back.MarshalCanonical()) != string(b) {
			t.Fatalf("round trip changed the spec:\n %s\n %s", b, back.MarshalCanonical())
		}
		_, _ = back.Plan(time.Unix(1_800_000_000, 0))
	})
}

// FuzzDecodeSpec: any body decodes to a spec or a 400/422 error, and any
// decoded spec plans or gives a 422, never a panic.
func FuzzDecodeSpec(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"calculations":[{"op":"COUNT"}]}`, `{"time_range":60,"granularity":1}`,
		`{"filters":[{"column":"a","op":"in","value":[1,"2",true,null]}]}`,
		`{"orders":[{"op":"P99","column":"d"}],"calculations":[{"op":"P99","column":"d"}]}`,
		`{"start_time":9999999999999,"end_time":-1}`, `{"limit":1e9}`, `nul`,
		`{"calculations":[{"op":"COUNT","name":"t"},{"op":"COUNT","name":"e","filters":[{"column":"error","op":"=","value":true}],"filter_combination":"OR"}],
			"formulas":[{"name":"r","expression":"DIV($e, $t)"}],"orders":[{"column":"r"}],"havings":[{"calculate_op":"COUNT","column":"r","op":">","value":0}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := DecodeSpec(strings.NewReader(string(body)))
		if err != nil {
			e, ok := err.(*Error)
			if !ok || (e.Status != 400 && e.Status != 422) {
				t.Fatalf("decode error %T %v", err, err)
			}
			return
		}
		p, err := s.Plan(time.Unix(1_800_000_000, 0))
		if err != nil {
			e, ok := err.(*Error)
			if !ok || e.Status != 422 || e.Field == "" {
				t.Fatalf("plan error %T %v", err, err)
			}
			return
		}
		if !p.Query.End.After(p.Query.Start) && !p.Empty {
			t.Fatalf("plan with empty range not marked empty: %+v", p.Query)
		}
		if len(p.Labels) != len(p.Query.Calcs) || len(p.Query.Calcs) == 0 {
			t.Fatalf("labels %v for %d calcs", p.Labels, len(p.Query.Calcs))
		}
		if _, err := json.Marshal(s); err != nil {
			t.Fatal(err)
		}
	})
}
