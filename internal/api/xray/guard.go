package xray

import (
	"net/http"

	"github.com/tracecomb/tracecomb/internal/api"
)

// CodeAccessDenied is X-Ray's error code for a refused caller.
const CodeAccessDenied = "AccessDeniedException"

// DaemonGuardConfig says what the daemon door, which takes no credentials
// (as the real daemon), accepts.
type DaemonGuardConfig struct {
	// LoopbackOnly refuses Host headers that are not loopback names: the
	// door is bound to loopback and any other name reached it through DNS
	// rebinding.
	LoopbackOnly bool
}

// GuardDaemonDoor refuses what a web page could send to the daemon door
// (a request with an Origin, a cross-site Sec-Fetch-Site, a form or
// text/plain body) and, with LoopbackOnly, foreign Host headers, with 403
// AccessDeniedException; SDKs, daemons and the AWS CLI send none of these.
func GuardDaemonDoor(cfg DaemonGuardConfig, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cfg.LoopbackOnly && !api.LoopbackHost(r.Host) {
			writeError(w, &APIError{Status: http.StatusForbidden, Code: CodeAccessDenied,
				Message: "This X-Ray daemon door is bound to loopback and answers loopback host names only, not " + r.Host + "."})
			return
		}
		if why := api.BrowserOriginated(r); why != "" {
			writeError(w, &APIError{Status: http.StatusForbidden, Code: CodeAccessDenied, Message: "This X-Ray daemon door takes no credentials, so " + why + "."})
			return
		}
		next.ServeHTTP(w, r)
	})
}
