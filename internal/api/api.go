// Package api holds what every HTTP door of tracecomb shares: JSON
// responses, Honeycomb-style error bodies, request body limits and the
// Honeycomb key middleware that puts the caller's Principal in the request
// context. Protocol-specific handlers live in subpackages.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/tracecomb/tracecomb/internal/auth"
)

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"cannot encode response"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n')) //nolint:errcheck // the client went away
}

// WriteError writes Honeycomb's v1 error body {"error": msg}.
func WriteError(w http.ResponseWriter, status int, msg string) {
	WriteJSON(w, status, map[string]string{"error": msg})
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p auth.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the Principal put in ctx by RequireKey.
func PrincipalFrom(ctx context.Context) (auth.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(auth.Principal)
	return p, ok
}

// TeamKey returns the Honeycomb key a request presents: the
// X-Honeycomb-Team header (any case), or Refinery's X-Hny-Team.
func TeamKey(r *http.Request) string {
	if k := r.Header.Get("X-Honeycomb-Team"); k != "" {
		return strings.TrimSpace(k)
	}
	return strings.TrimSpace(r.Header.Get("X-Hny-Team"))
}

// RequireKey authenticates every request with its Honeycomb key and answers
// 401 with Honeycomb's message when the key is missing, unknown or revoked.
// A request whose context already carries a Principal was authenticated by
// an in-process door (the UI door forwarding a browser's call) and passes
// as that Principal; remote clients cannot set a context value.
func RequireKey(a auth.Authenticator, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := PrincipalFrom(r.Context()); ok {
			next.ServeHTTP(w, r)
			return
		}
		p, err := a.Authenticate(r.Context(), TeamKey(r))
		if err != nil {
			status := http.StatusUnauthorized
			if !errors.Is(err, auth.ErrMissingKey) && !errors.Is(err, auth.ErrUnknownKey) && !errors.Is(err, auth.ErrDisabledKey) {
				status = http.StatusInternalServerError
			}
			WriteError(w, status, err.Error())
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}
