package backend

import (
	"net/http"
	"slices"
	"strings"
)

// CORS as the original configures flask-cors: resources /api/*, origins
// [FRONTEND_URL, BACKEND_URL], expose_headers "location,link",
// allow_headers "content-type,if-modified-since", methods
// "OPTIONS,GET,HEAD,POST", and flask-cors's defaults otherwise:
//
//   - a request whose Origin matches (case-insensitively) gets that origin
//     in Access-Control-Allow-Origin; one that does not match gets no CORS
//     headers at all;
//   - a request without Origin gets every configured origin, one
//     Access-Control-Allow-Origin header each (flask-cors's always_send);
//   - a preflight (OPTIONS with an allowed Access-Control-Request-Method)
//     also gets Access-Control-Allow-Methods and, of the requested headers,
//     those allowed, sorted, in Access-Control-Allow-Headers;
//   - Vary: Origin, since the origin list has more than one entry.
const (
	corsExposeHeaders = "location,link"
	corsMethods       = "OPTIONS,GET,HEAD,POST"
)

var corsAllowHeaders = []string{"content-type", "if-modified-since"}

type cors struct {
	origins []string
}

func newCORS(frontendURL, backendURL string) *cors {
	var origins []string
	for _, o := range []string{frontendURL, backendURL} {
		if o != "" && !slices.Contains(origins, o) {
			origins = append(origins, o)
		}
	}
	slices.Sort(origins)
	return &cors{origins: origins}
}

func (c *cors) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			c.setHeaders(w.Header(), r)
		}
		next.ServeHTTP(w, r)
	})
}

func (c *cors) setHeaders(h http.Header, r *http.Request) {
	var allow []string
	if origin := r.Header.Get("Origin"); origin != "" {
		for _, o := range c.origins {
			if strings.EqualFold(o, origin) {
				allow = []string{origin}
				break
			}
		}
	} else {
		allow = c.origins
	}
	if len(allow) == 0 {
		return
	}
	for _, o := range allow {
		h.Add("Access-Control-Allow-Origin", o)
	}
	h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
	if r.Method == http.MethodOptions {
		m := strings.ToUpper(strings.TrimSpace(r.Header.Get("Access-Control-Request-Method")))
		if m != "" && slices.Contains(strings.Split(corsMethods, ","), m) {
			if hs := allowedRequestHeaders(r.Header.Get("Access-Control-Request-Headers")); hs != "" {
				h.Set("Access-Control-Allow-Headers", hs)
			}
			h.Set("Access-Control-Allow-Methods", corsMethods)
		}
	}
	h.Add("Vary", "Origin")
}

// allowedRequestHeaders keeps the requested headers that are allowed, as
// the client spelled them, sorted and joined with ", ".
func allowedRequestHeaders(requested string) string {
	var out []string
	for _, name := range strings.Split(requested, ",") {
		name = strings.TrimSpace(name)
		for _, a := range corsAllowHeaders {
			if strings.EqualFold(name, a) {
				out = append(out, name)
				break
			}
		}
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}
