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
		{`IF(1)`, 1, "IF takes 2 to 3 arguments, got 1"},
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
		`SUM(DIV($a, 0), MOD(1, 2))`, `event_timestamp()`, `NOT(NOT(`, `$`, `"`} {
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
