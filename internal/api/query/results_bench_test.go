package query_test

import (
	"fmt"
	"testing"
	"time"

	apiquery "github.com/tracecomb/tracecomb/internal/api/query"
	"github.com/tracecomb/tracecomb/internal/state"
)

// BenchmarkCreateQueryAndResult is a client's query as the Query Data API
// runs it (POST /1/queries, POST /1/query_results) with an environment
// already holding -queries saved queries and -results results, the
// defaults' limits (10,000 and 1,000): saving each checks the limit and
// prunes, and that must not read every stored key.
func BenchmarkCreateQueryAndResult(b *testing.B) {
	for _, held := range []struct{ queries, results int }{{0, 0}, {9000, 999}} {
		b.Run(fmt.Sprintf("held=%d/%d", held.queries, held.results), func(b *testing.B) {
			st := openState(b, b.TempDir())
			now := time.Now()
			err := st.Update(b.Context(), func(tx state.Tx) error {
				for i := range held.queries {
					if _, err := tx.Put(state.Record{Kind: "honeycomb.query", Scope: "test", Key: fmt.Sprintf("q%07d", i), Value: []byte(`{}`)}, state.AnyVersion); err != nil {
						return err
					}
				}
				for i := range held.results {
					// Result ids begin with their creation time in hex seconds.
					id := fmt.Sprintf("%08x%08d", now.Add(-time.Hour).Unix(), i)
					if _, err := tx.Put(state.Record{Kind: "honeycomb.query-result", Scope: "test", Key: id, Value: []byte(`{}`)}, state.AnyVersion); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			url := apiServer(b, st, apiquery.Deps{})
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				qid := createQueryID(b, url, fmt.Sprintf(`{"calculations":[{"op":"COUNT"}],"limit":%d}`, 1+i%10000))
				createResultID(b, url, qid)
			}
		})
	}
}
