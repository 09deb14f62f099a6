package backend

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// FuzzPostBodies feeds arbitrary bodies to the three POST routes: every
// answer is one of the documented statuses with a JSON body, and a 200
// echoes the message that was sent.
func FuzzPostBodies(f *testing.F) {
	seeds := []string{
		`{"message":"Cloud is fun!","ttl":"7-days"}`,
		`{"message":"hi","user_receiver_handle":"worf"}`,
		`{"message":"` + strings.Repeat("é", 281) + `","ttl":"1-day"}`,
		`{}`, `null`, `[]`, `"x"`, `{"message":5}`, `{"message":"a"} {}`, `{"message":"\ud800"}`,
		`{"message":"hi","ttl":"30-days","user_receiver_handle":"nobody"}`, ``, `{`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), s)
	}
	d := newUDPDaemon(f)
	xctx, err := XRayContext(d.addr, alwaysSample(f))
	if err != nil {
		f.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider()
	srv := NewServer(Config{XRayServiceName: XRayServiceName}, nilLogger(), Telemetry{TracerProvider: tp, Propagator: Propagator(), XRay: xctx}, "")
	f.Cleanup(srv.Close)
	paths := []string{"/api/activities", "/api/activities/68f126b0-1ceb-4a33-88be-d90fa7109eee/reply", "/api/messages"}
	ok := map[int]bool{200: true, 400: true, 404: true, 413: true, 415: true, 422: true}

	f.Fuzz(func(t *testing.T, route uint8, body string) {
		req := httptest.NewRequest(http.MethodPost, paths[int(route)%len(paths)], strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if !ok[w.Code] {
			t.Fatalf("status %d for %q", w.Code, body)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("answer is not JSON: %q", w.Body.String())
		}
		if w.Code == 200 {
			var in, out struct{ Message string }
			if err := json.Unmarshal([]byte(body), &in); err != nil {
				t.Fatalf("200 for a body that does not decode: %q", body)
			}
			if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out.Message != in.Message {
				t.Fatalf("message %q answered as %q", in.Message, out.Message)
			}
		}
	})
}
