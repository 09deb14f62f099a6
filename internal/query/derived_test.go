package query

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseExpr(t *testing.T) {
	tests := []struct{ src, want string }{
		{`$duration_ms`, `{"Func":"","Args":null,"Column":"duration_ms","Lit":null}`},
		{`$"with space"`, `{"Func":"","Args":null,"Column":"with space","Lit":null}`},
		{`"text \" q"`, `{"Func":"","Args":null,"Column":"","Lit":{"Kind":0,"Str":"text \" q","Int":0,"Flt":0}}`},
		{`-12`, `{"Func":"","Args":null,"Column":"","Lit":{"Kind":1,"Str":"","Int":-12,"Flt":0}}`},
		{`1.5e3`, `{"Func":"","Args":null,"Column":"","Lit":{"Kind":2,"Str":"","Int":0,"Flt":1500}}`},
		{`true`, `{"Func":"","Args":null,"Column":"","Lit":{"Kind":3,"Str":"","Int":1,"Flt":0}}`},
		{`null`, `{"Func":"","Args":null,"Column":"","Lit":null}`},
		{`event_timestamp()`, `{"Func":"EVENT_TIMESTAMP","Args":null,"Column":"","Lit":null}`},
		{"`raw \\d \"`", `{"Func":"","Args":null,"Column":"","Lit":{"Kind":0,"Str":"raw \\d \"","Int":0,"Flt":0}}`},
		{` IF( GTE($duration_ms, 500) , "slow" ) `, `{"Func":"IF","Args":[{"Func":"GTE","Args":[{"Func":"","Args":null,"Column":"duration_ms","Lit":null},{"Func":"","Args":null,"Column":"","Lit":{"Kind":1,"Str":"","Int":500,"Flt":0}}],"Column":"","Lit":null},{"Func":"","Args":null,"Column":"","Lit":{"Kind":0,"Str":"slow","Int":0,"Flt":0}}],"Column":"","Lit":null}`},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			e, err := ParseExpr(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(e)
			if string(b) != tc.want {
				t.Fatalf("got  %s\nwant %s", b, tc.want)
			}
		})
	}
}

func TestParseExprErrors(t *testing.T) {
	tests := []struct {
		src  string
		col  int
		want string
	}{
		{``, 1, "expected an expression"},
		{`FOO(1)`, 1, "unknown function FOO"},
		{`IF(1)`, 1, "IF takes at least 2 arguments, got 1"},
		{"`open", 1, "unterminated raw string"},
		{`EQUALS(1, 2, 3)`, 1, "EQUALS takes 2 arguments, got 3"},
		{`SUM()`, 1, "SUM takes at least 1 arguments, got 0"},
		{`SUM(1 2)`, 7, "expected , or )"},
		{`LENGTH "x"`, 8, "expected ( after LENGTH"},
		{`"open`, 1, "unterminated string"},
		{`$`, 2, "expected a column name"},
		{`1.2.3`, 1, "bad number"},
		{`$a $b`, 4, "unexpected"},
		{strings.Repeat("NOT(", 70) + "true" + strings.Repeat(")", 70), 261, "nested too deeply"},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			_, err := ParseExpr(tc.src)
			se, ok := err.(*SyntaxError)
			if !ok || se.Col != tc.col || !strings.Contains(se.Msg, tc.want) {
				t.Fatalf("err = %v, want column %d %q", err, tc.col, tc.want)
			}
		})
	}
}

// TestParseExprInfix checks that infix operators parse as the functions
// they stand for, with their precedence.
func TestParseExprInfix(t *testing.T) {
	tests := []struct{ infix, calls string }{
		{`$serialize_ms + $scan_ms + $publish_ms`, `SUM(SUM($serialize_ms, $scan_ms), $publish_ms)`},
		{`1.0 + 5 + "2.3"`, `SUM(SUM(1.0, 5), "2.3")`},
		{`$total_ms - ($local_ms + $merge_ms)`, `SUB($total_ms, SUM($local_ms, $merge_ms))`},
		{`$a - 1 - 2`, `SUB(SUB($a, 1), 2)`},
		{`$a + $b * $c`, `SUM($a, MUL($b, $c))`},
		{`($a + $b) * $c`, `MUL(SUM($a, $b), $c)`},
		{`$a / 2 % 3`, `MOD(DIV($a, 2), 3)`},
		{`$roundtrip_us < 500`, `LT($roundtrip_us, 500)`},
		{`$a <= $b`, `LTE($a, $b)`},
		{`$a > 1 + 2`, `GT($a, SUM(1, 2))`},
		{`$a >= 1`, `GTE($a, 1)`},
		{`$method = "POST"`, `EQUALS($method, "POST")`},
		{`$method != "POST"`, `NOT(EQUALS($method, "POST"))`},
		{`$roundtrip_ms >= 100 AND $method = "POST"`, `AND(GTE($roundtrip_ms, 100), EQUALS($method, "POST"))`},
		{`!IN($method, "GET", "DELETE") AND EXISTS($batch)`, `AND(NOT(IN($method, "GET", "DELETE")), EXISTS($batch))`},
		{`$company = "acme" OR $priority >= 5`, `OR(EQUALS($company, "acme"), GTE($priority, 5))`},
		{`$a OR $b AND $c`, `OR($a, AND($b, $c))`},
		{`$mysql_ms >= 20 OR ($s3_ms >= 100 AND $method = "GET")`, `OR(GTE($mysql_ms, 20), AND(GTE($s3_ms, 100), EQUALS($method, "GET")))`},
		{`$a and $b or $c`, `OR(AND($a, $b), $c)`},
		{`!EXISTS($batch)`, `NOT(EXISTS($batch))`},
		{`!($a > 1)`, `NOT(GT($a, 1))`},
		{`!!$a`, `NOT(NOT($a))`},
		{`IF($a > 1, $b * 2, -1)`, `IF(GT($a, 1), MUL($b, 2), -1)`},
		{`$a -1`, `SUB($a, 1)`},
		{`((1))`, `1`},
		{`$a-1 - 1`, `SUB($"a-1", 1)`},
		{`$ORDER AND $ANDROID`, `AND($ORDER, $ANDROID)`},
	}
	for _, tc := range tests {
		t.Run(tc.infix, func(t *testing.T) {
			got, err := ParseExpr(tc.infix)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ParseExpr(tc.calls)
			if err != nil {
				t.Fatal(err)
			}
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if string(g) != string(w) {
				t.Fatalf("got  %s\nwant %s", g, w)
			}
		})
	}
	for _, tc := range []struct {
		src  string
		col  int
		want string
	}{
		{`$a +`, 5, "expected an expression, found the end"},
		{`$a + * $b`, 6, "unexpected"},
		{`($a + 1`, 1, "unclosed ("},
		{`($a 1)`, 5, "expected ) or an operator"},
		{`$a ANDROID`, 4, "unexpected"},
		{`$a ! $b`, 4, "unexpected"},
		{`!`, 2, "expected an expression, found the end"},
		{strings.Repeat("1+", 70) + "1", 130, "nested too deeply"},
		{strings.Repeat("(", 70) + "1" + strings.Repeat(")", 70), 66, "nested too deeply"},
	} {
		t.Run(tc.src, func(t *testing.T) {
			_, err := ParseExpr(tc.src)
			se, ok := err.(*SyntaxError)
			if !ok || se.Col != tc.col || !strings.Contains(se.Msg, tc.want) {
				t.Fatalf("err = %v, want column %d %q", err, tc.col, tc.want)
			}
		})
	}
}

// TestParseExprFunctions checks each function's argument counts and
// literal arguments: an empty want means the expression parses.
func TestParseExprFunctions(t *testing.T) {
	tests := []struct {
		src  string
		col  int
		want string
	}{
		{`IF(true, 1)`, 0, ""},
		{`IF(LT($a, 1), "x", LT($a, 2), "y")`, 0, ""},
		{`IF(LT($a, 1), "x", LT($a, 2), "y", "z")`, 0, ""},
		{`SWITCH($user, "a", 1, "b", 2)`, 0, ""},
		{`SWITCH($user, "a", 1, 0)`, 0, ""},
		{`SWITCH($user, "a")`, 1, "SWITCH takes at least 3 arguments, got 2"},
		{"REG_MATCH($msg, `^[a-z]+\\[[0-9]+\\]$`)", 0, ""},
		{`REG_MATCH($msg, "^a.c$")`, 0, ""},
		{`REG_MATCH($msg)`, 1, "REG_MATCH takes 2 arguments, got 1"},
		{`REG_MATCH($msg, $pattern)`, 17, "REG_MATCH's regular expression must be a string literal"},
		{`REG_MATCH($msg, 12)`, 17, "must be a string literal"},
		{`REG_MATCH($msg, CONCAT("a", "b"))`, 17, "must be a string literal"},
		{"REG_MATCH($msg,   `a(b`)", 19, "REG_MATCH: bad regular expression: error parsing regexp: missing closing )"},
		{"REG_VALUE($url, `/api/(v[0-9]+)/`)", 0, ""},
		{"REG_VALUE($url, `(?<name>x)`)", 0, ""},
		{"REG_VALUE($url, `(?=x)`)", 17, "REG_VALUE: bad regular expression"},
		{"REG_VALUE($url)", 1, "REG_VALUE takes 2 arguments, got 1"},
		{"REG_COUNT($url, `/`)", 0, ""},
		{"REG_COUNT($url, `[`)", 17, "REG_COUNT: bad regular expression"},
		{"REG_COUNT(`/a`, $url)", 17, "REG_COUNT's regular expression must be a string literal"},
		{`UNIX_TIMESTAMP($timestamp)`, 0, ""},
		{`UNIX_TIMESTAMP()`, 1, "UNIX_TIMESTAMP takes 1 arguments, got 0"},
		{`FORMAT_TIME("%Y-%m-%d %H:%M:%S %a %A %b %B %c %C %D %e %F %g %G %h %I %j %k %l %n %p %r %R %t %T %u %U %V %w %W %x %X %y %z %Z %%", EVENT_TIMESTAMP())`, 0, ""},
		{`FORMAT_TIME("plain text", $t)`, 0, ""},
		{`FORMAT_TIME($format, $t)`, 13, "FORMAT_TIME's time format must be a string literal"},
		{`FORMAT_TIME("%Y", $t, 1)`, 1, "FORMAT_TIME takes 2 arguments, got 3"},
		{`FORMAT_TIME( "%Q", $t)`, 14, "FORMAT_TIME: bad time format: unsupported conversion %Q"},
		{`FORMAT_TIME("%Ey", $t)`, 13, "unsupported conversion %E"},
		{`FORMAT_TIME("%s", $t)`, 13, "unsupported conversion %s"},
		{`FORMAT_TIME("100%", $t)`, 13, "the format ends in a lone %"},
		{`EVENT_TIMESTAMP(1)`, 1, "EVENT_TIMESTAMP takes 0 arguments, got 1"},
		{`SUB(INGEST_TIMESTAMP(), EVENT_TIMESTAMP())`, 5, "INGEST_TIMESTAMP is not supported: tracecomb does not record when it received an event"},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			_, err := ParseExpr(tc.src)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			se, ok := err.(*SyntaxError)
			if !ok || se.Col != tc.col || !strings.Contains(se.Msg, tc.want) {
				t.Fatalf("err = %v, want column %d %q", err, tc.col, tc.want)
			}
		})
	}
}

func TestCalculatedFieldSpec(t *testing.T) {
	p := plan(t, `{"calculated_fields":[{"name":"slow","expression":"GTE($duration_ms, 500)"}],"breakdowns":["slow"]}`)
	if len(p.Query.CalculatedFields) != 1 || p.Query.CalculatedFields[0].Expr.Func != "GTE" {
		t.Fatalf("%+v", p.Query.CalculatedFields)
	}
	for _, tc := range []struct{ spec, field string }{
		{`{"calculated_fields":[{"name":"","expression":"1"}]}`, "calculated_fields[0].name"},
		{`{"calculated_fields":[{"name":"a","expression":""}]}`, "calculated_fields[0].expression"},
		{`{"calculated_fields":[{"name":"a","expression":"NOPE()"}]}`, "calculated_fields[0].expression"},
		{`{"calculated_fields":[{"name":"a","expression":"1"},{"name":"a","expression":"2"}]}`, "calculated_fields[1].name"},
	} {
		s, _ := DecodeSpec(strings.NewReader(tc.spec))
		_, err := s.Plan(now)
		if e, ok := err.(*Error); !ok || e.Field != tc.field {
			t.Errorf("%s: err = %v, want field %s", tc.spec, err, tc.field)
		}
	}
}

func FuzzParseExpr(f *testing.F) {
	for _, s := range []string{`IF(GTE($duration_ms, 500), "slow", "fast")`, `CONCAT($"a b", "x\"y", 1.5, -2, true, null)`,
		`SUM(DIV($a, 0), MOD(1, 2))`, `event_timestamp()`, `NOT(NOT(`, `$`, `"`, "`", "REG_VALUE($a, `(x)`)",
		`SWITCH($a, 1, "x", "y")`, `FORMAT_TIME("%F %T", EVENT_TIMESTAMP())`, `REG_MATCH($a, "(")`, `INGEST_TIMESTAMP()`,
		`$a + 1 * 2 >= 3 AND !($b = "x") OR $c != 1`, `(1`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := ParseExpr(src)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("error %T", err)
			}
			return
		}
		if _, err := json.Marshal(e); err != nil {
			t.Fatal(err)
		}
	})
}
