package app

import (
	"encoding/json"
	"net/http"
	"strings"

	xrayapi "github.com/tracecomb/tracecomb/internal/api/xray"
	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/ingest/otlp"
	"github.com/tracecomb/tracecomb/internal/model"
)

// Signing names of AWS's OTLP endpoints: traces go to X-Ray's
// (https://xray.<region>.amazonaws.com/v1/traces), logs to CloudWatch
// Logs' (https://logs.<region>.amazonaws.com/v1/logs).
const (
	signingNameTraces = "xray"
	signingNameLogs   = "logs"
)

// Headers CloudWatch Logs' OTLP endpoint requires: the log group and log
// stream the records go to.
const (
	headerLogGroup  = "X-Aws-Log-Group"
	headerLogStream = "X-Aws-Log-Stream"
)

// otlpHTTPDoor says which service's door an OTLP/HTTP request came in by:
// X-Ray's OTLP endpoint (SigV4-signed with an AWS key pair) when it carries
// no Honeycomb key and an Authorization header or one of SigV4's X-Amz-
// headers, Honeycomb's otherwise. A request with neither a key nor a
// signature stays Honeycomb's, whose 401 names the header it lacks.
func otlpHTTPDoor(r *http.Request) model.Door {
	h := r.Header
	if h.Get(auth.HeaderTeam) != "" || h.Get("X-Hny-Team") != "" {
		return model.DoorHoneycomb
	}
	for _, name := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-Sha256"} {
		if h.Get(name) != "" {
			return model.DoorXRay
		}
	}
	return model.DoorHoneycomb
}

// registerOTLPHTTP mounts OTLP/HTTP traces, logs and metrics: POST
// /v1/traces, /v1/logs and /v1/metrics, each also with a trailing slash
// (whose subtree reaches the handler, which answers a path such as
// /v1/logs/v1/logs with how to set the endpoint). Each request goes to the
// door otlpHTTPDoor picks: Honeycomb's takes the x-honeycomb-team key;
// X-Ray's takes traces signed for "xray" and logs signed for "logs", as
// AWS's OTLP endpoints do, verified by the X-Ray API's SigV4 verifier
// against the registry's AWS key pairs, and stores them in the key's
// environment's X-Ray part (doorConsumer), where the X-Ray API reads.
func (a *App) registerOTLPHTTP(mux *http.ServeMux, d doorDeps) error {
	honeycombDoor := otlp.NewHTTPHandler(d.otlp, otlp.Deps{Logger: d.logger.With("door", "otlp-http"), Metrics: d.metrics, Auth: d.auth, Consumer: d.consumer,
		Pending: d.pending, Inflater: d.inflater})

	xrayOTLP := otlp.NewHTTPHandler(d.otlp, otlp.Deps{Logger: d.logger.With("door", "otlp-http-sigv4"), Metrics: d.metrics, Auth: d.auth,
		Consumer: a.doorConsumer(model.DoorXRay), Pending: d.pending, Inflater: d.inflater})
	// The verifier has put the key pair's environment in the context.
	verified := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env, _ := xrayapi.EnvFrom(r.Context())
		xrayOTLP.ServeHTTP(w, r.WithContext(otlp.WithPrincipal(r.Context(), auth.Principal{Env: env, Kind: auth.KindIngest})))
	})
	signed := func(service string, next http.Handler) (http.Handler, error) {
		return xrayapi.SigV4(xrayapi.SigV4Config{Credentials: awsCredentials{a.registry}, Service: service, MaxBodyBytes: d.otlp.MaxBodyBytes}, next)
	}
	traces, err := signed(signingNameTraces, verified)
	if err != nil {
		return err
	}
	logs, err := signed(signingNameLogs, requireLogStream(verified))
	if err != nil {
		return err
	}

	traces, logs = a.logSignedRejects(traces), a.logSignedRejects(logs)

	door := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if otlpHTTPDoor(r) == model.DoorHoneycomb {
			honeycombDoor.ServeHTTP(w, r)
			return
		}
		switch p := strings.TrimSuffix(r.URL.Path, "/"); p {
		case otlp.PathTraces:
			traces.ServeHTTP(w, r)
		case otlp.PathLogs:
			logs.ServeHTTP(w, r)
		case otlp.PathMetrics:
			writeAWSError(w, http.StatusNotFound, "UnknownOperationException",
				"signed OTLP takes traces (POST /v1/traces, signed for xray) and logs (POST /v1/logs, signed for logs); send "+p+" with an x-honeycomb-team key")
		default:
			writeAWSError(w, http.StatusNotFound, "UnknownOperationException", otlp.WrongPathMessage(r.URL.Path))
		}
	})
	for _, p := range otlp.Paths {
		mux.Handle("POST "+p, door)
	}
	return nil
}

// logSignedRejects logs (rate-limited, per error type) a signed OTLP
// request refused before the OTLP handler, whose own refusals it logs
// itself: a sender that signs wrongly would otherwise leave the server's
// log silent.
func (a *App) logSignedRejects(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		if t := w.Header().Get("X-Amzn-ErrorType"); t != "" {
			a.rejects.Warn(a.logger, "sigv4-otlp-"+t, "rejected a signed OTLP request", "door", "otlp-http-sigv4", "remote", r.RemoteAddr,
				"path", r.URL.Path, "error_type", t)
		}
	})
}

// requireLogStream answers a logs request without the log group or log
// stream header with 400, as CloudWatch Logs' OTLP endpoint requires both.
func requireLogStream(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, h := range []string{headerLogGroup, headerLogStream} {
			if strings.TrimSpace(r.Header.Get(h)) == "" {
				writeAWSError(w, http.StatusBadRequest, "InvalidParameterException", "The "+strings.ToLower(h)+" header is required.")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// writeAWSError answers in the shape AWS's JSON services use: the error
// code in X-Amzn-ErrorType and {"message": ...}.
func writeAWSError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("X-Amzn-ErrorType", code)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{msg})
	_, _ = w.Write(b)
}
