package xrayfilter

import (
	"testing"

	"github.com/tracecomb/tracecomb/internal/model"
)

const benchExpr = `http.url BEGINSWITH "http://api.example.com/" AND responsetime > 0.5 AND ` +
	`(service("api") { fault OR http.status >= 500 } OR annotation.cart_id = "C-17") AND !edge("api", "carts") { throttle }`

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchExpr)))
	for b.Loop() {
		if _, err := Parse(benchExpr); err != nil {
			b.Fatal(err)
		}
	}
}

// bigTrace is richTrace with n extra subsegments under the handler.
func bigTrace(n int) *Trace {
	tr := richTrace()
	for i := range n {
		tr.Segments = append(tr.Segments, sub(100+i, 4, "work", 101, 101.5, ann("k", model.Int(int64(i)))))
	}
	return tr
}

func BenchmarkMatch(b *testing.B) {
	tr := bigTrace(40)
	for _, bc := range []struct{ name, expr string }{
		{"trace-level", `responsetime > 1 AND http.method = "GET" AND !partial`},
		{"annotation", `annotation.k = 39`},
		{"service", `service("api") { error }`},
		{"mixed", benchExpr},
	} {
		e, err := Parse(bc.expr)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e.Match(tr, nil)
			}
		})
	}
}
