// Package api holds what every HTTP door of tracecomb shares: JSON
// responses, Honeycomb-style error bodies, request body limits and the
// Honeycomb key middleware that puts the caller's Principal in the request
// context. Protocol-specific handlers live in subpackages.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
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

// Problem is Honeycomb's v1 error body, an RFC 7807 problem detail whose
// "error" member is also what clients of the older {"error": msg} body
// read.
type Problem struct {
	Status     int           `json:"status"`
	Type       string        `json:"type"`
	Title      string        `json:"title"`
	Error      string        `json:"error"`
	Detail     string        `json:"detail"`
	TypeDetail []ProblemItem `json:"type_detail,omitempty"`
}

// ProblemItem names one invalid field of a 422.
type ProblemItem struct {
	Field       string `json:"field"`
	Code        string `json:"code"` // invalid, missing, incorrect_type, already_exists
	Description string `json:"description"`
}

// problemKinds are the type and title of each status, as Honeycomb's
// problem bodies carry them.
func problemKind(status int) (typ, title string) {
	const base = "https://api.honeycomb.io/problems/"
	switch status {
	case http.StatusBadRequest:
		return base + "bad-request", "The request could not be read."
	case http.StatusUnauthorized:
		return base + "unauthenticated", "The API key is missing or invalid."
	case http.StatusForbidden:
		return base + "forbidden", "The API key does not have permission for this operation."
	case http.StatusNotFound:
		return base + "not-found", "The requested resource cannot be found."
	case http.StatusMethodNotAllowed:
		return base + "method-not-allowed", "The method is not allowed on this resource."
	case http.StatusConflict:
		return base + "conflict", "The request conflicts with the current state of the resource."
	case http.StatusRequestEntityTooLarge:
		return base + "request-too-large", "The request body is too large."
	case http.StatusUnprocessableEntity:
		return base + "validation-failed", "The provided input is invalid."
	case http.StatusTooManyRequests:
		return base + "rate-limited", "You have exceeded your rate limit."
	case http.StatusServiceUnavailable:
		return base + "unavailable", "The service is unavailable; retry later."
	}
	return base + "internal-error", "Something went wrong."
}

// WriteError writes Honeycomb's v1 error body for status with msg as its
// error and detail.
func WriteError(w http.ResponseWriter, status int, msg string, items ...ProblemItem) {
	typ, title := problemKind(status)
	b, err := json.Marshal(Problem{Status: status, Type: typ, Title: title, Error: msg, Detail: msg, TypeDetail: items})
	if err != nil {
		http.Error(w, `{"error":"cannot encode response"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	w.Write(append(b, '\n')) //nolint:errcheck // the client went away
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

// RequireKey authenticates every request with its Honeycomb key and lets
// it through when the key may do perm (auth.PermAnyKey: any key, ingest
// keys too). It answers 401 with Honeycomb's message when the key is
// missing, unknown or revoked, and 403 when it lacks the permission. A
// request whose context already carries a Principal was authenticated by
// an in-process door (the UI door forwarding a browser's call) and is
// checked as that Principal; remote clients cannot set a context value.
func RequireKey(a auth.Authenticator, perm auth.Permission, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := PrincipalFrom(r.Context())
		if !ok {
			var err error
			p, err = a.Authenticate(r.Context(), TeamKey(r))
			if err != nil {
				status := http.StatusUnauthorized
				if !errors.Is(err, auth.ErrMissingKey) && !errors.Is(err, auth.ErrUnknownKey) && !errors.Is(err, auth.ErrDisabledKey) {
					status = http.StatusInternalServerError
				}
				WriteError(w, status, err.Error())
				return
			}
			r = r.WithContext(WithPrincipal(r.Context(), p))
		}
		if err := p.Check(perm); err != nil {
			WriteError(w, http.StatusForbidden, err.Error())
			return
		}
		next.ServeHTTP(w, r)
	})
}

// BearerKey returns the key of an "Authorization: Bearer <key>" header, as
// Honeycomb's /2 API takes management keys ("<id>:<secret>").
func BearerKey(r *http.Request) string {
	v := r.Header.Get("Authorization")
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return ""
}

// WriteV2Error writes the /2 API's JSON:API error body.
func WriteV2Error(w http.ResponseWriter, status int, code, msg string) {
	b, _ := json.Marshal(map[string]any{"errors": []map[string]any{{
		"status": strconv.Itoa(status), "code": code, "title": http.StatusText(status), "detail": msg,
	}}})
	w.Header().Set("Content-Type", "application/vnd.api+json")
	w.WriteHeader(status)
	w.Write(append(b, '\n')) //nolint:errcheck // the client went away
}

// RequireManagementKey authenticates a /2 API request by its management
// key (Authorization: Bearer <id>:<secret>), answering 401 in the /2 API's
// error body otherwise.
func RequireManagementKey(a auth.Authenticator, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := BearerKey(r)
		if key == "" {
			WriteV2Error(w, http.StatusUnauthorized, "unauthorized", "missing 'Authorization: Bearer <management key>' header")
			return
		}
		p, err := a.Authenticate(r.Context(), key)
		switch {
		case err != nil:
			WriteV2Error(w, http.StatusUnauthorized, "unauthorized", err.Error())
			return
		case p.Kind != auth.KindManagement:
			WriteV2Error(w, http.StatusUnauthorized, "unauthorized", "the /2 API takes a management key (tracecomb keys create --kind management)")
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// LoopbackHost reports whether a Host header names this machine's loopback
// (localhost, *.localhost, 127.0.0.0/8, ::1), as a door bound to loopback
// expects: any other name reached it through DNS rebinding.
func LoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// BrowserOriginated says why r looks sent by a web page (an Origin header,
// a Sec-Fetch-Site other than "none", or a body type an HTML form or a
// "simple" cross-site fetch can send), or "" when it does not. Doors
// without credentials refuse such requests: a page the user visits must
// not be able to write to them or read them.
func BrowserOriginated(r *http.Request) string {
	if o := r.Header.Get("Origin"); o != "" {
		return "requests from web pages (Origin " + o + ") are refused"
	}
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "none" {
		return "requests from web pages (Sec-Fetch-Site " + s + ") are refused"
	}
	mt, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	switch strings.ToLower(strings.TrimSpace(mt)) {
	case "text/plain", "application/x-www-form-urlencoded", "multipart/form-data":
		return "Content-Type " + mt + " is refused: send application/json"
	}
	return ""
}
