package otlp

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tracecomb/tracecomb/internal/auth"
)

// TestWithPrincipal: a request whose context carries a principal verified
// in front of the handler is stored in that principal's environment and
// needs no Honeycomb key (a key it carries is not read); without one, the
// key decides as before.
func TestWithPrincipal(t *testing.T) {
	jsonBody, _, _, _ := testBodies(t)
	verified := auth.Principal{Env: "aws-env", Kind: auth.KindIngest}
	for _, c := range []struct {
		name      string
		principal *auth.Principal
		key       string
		want      int
		wantEnv   string // "" : nothing consumed
	}{
		{"verified, no key", &verified, "", http.StatusOK, "aws-env"},
		{"verified, an unknown key beside it", &verified, "not-a-key", http.StatusOK, "aws-env"},
		{"verified, a good key beside it", &verified, goodKey, http.StatusOK, "aws-env"},
		{"no principal, no key", nil, "", http.StatusUnauthorized, ""},
		{"no principal, unknown key", nil, "not-a-key", http.StatusUnauthorized, ""},
		{"no principal, good key", nil, goodKey, http.StatusOK, testEnv},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{}
			h := NewHTTPHandler(Config{}, newDeps(rec, nil))
			req := httptest.NewRequest(http.MethodPost, PathTraces, bytes.NewReader(jsonBody))
			req.Header.Set("Content-Type", "application/json")
			if c.key != "" {
				req.Header.Set(auth.HeaderTeam, c.key)
			}
			if c.principal != nil {
				req = req.WithContext(WithPrincipal(req.Context(), *c.principal))
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != c.want {
				t.Fatalf("status %d %s, want %d", w.Code, w.Body, c.want)
			}
			calls := rec.all()
			switch {
			case c.wantEnv == "" && len(calls) != 0:
				t.Errorf("consumed %d calls, want none", len(calls))
			case c.wantEnv != "" && (len(calls) != 1 || calls[0].env != c.wantEnv || len(calls[0].events) == 0):
				t.Errorf("consumed %+v, want events in %s", calls, c.wantEnv)
			}
		})
	}
}
