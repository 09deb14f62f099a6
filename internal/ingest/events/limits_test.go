package events

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/ingest"
	"github.com/tracecomb/tracecomb/internal/model"
)

// TestDecompressBusy: an Events API body that cannot get its share of the
// decompression budget shared with the other doors gets a retryable 503
// with Retry-After; with room it is stored, and the budget is given back.
func TestDecompressBusy(t *testing.T) {
	in := ingest.NewInflater(1<<20, 20*time.Millisecond)
	var stored int
	h, err := NewHandler(Config{}, Deps{
		Auth: auth.AuthenticatorFunc(func(context.Context, string) (auth.Principal, error) {
			return auth.Principal{Env: "test", Kind: auth.KindIngest}, nil
		}),
		Consumer: ingest.ConsumerFunc(func(_ context.Context, _ string, ev []model.Event) error { stored += len(ev); return nil }),
		Inflater: in,
	})
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	z := gzip.NewWriter(&body)
	z.Write([]byte(`[{"data":{"a":1}},{"data":{"a":2}}]`)) //nolint:errcheck // bytes.Buffer
	z.Close()
	post := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/1/batch/ds", bytes.NewReader(body.Bytes()))
		req.SetPathValue("dataset", "ds")
		req.Header.Set("X-Honeycomb-Team", "key")
		req.Header.Set("Content-Encoding", "gzip")
		rec := httptest.NewRecorder()
		h.ServeBatch(rec, req)
		return rec
	}
	held, _ := in.Budget().TryReserve(1 << 20)
	if rec := post(); rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || stored != 0 {
		t.Fatalf("with the decompression budget taken: %d %q (Retry-After %q), want 503 with Retry-After", rec.Code, rec.Body, rec.Header().Get("Retry-After"))
	}
	held.Release()
	if rec := post(); rec.Code != http.StatusOK || stored != 2 {
		t.Fatalf("with room: %d %q, %d stored", rec.Code, rec.Body, stored)
	}
	if used := in.Budget().Used(); used != 0 {
		t.Fatalf("%d bytes of the decompression budget still held", used)
	}
}
