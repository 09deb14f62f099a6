package xray

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/tracecomb/tracecomb/internal/sampling"
)

type envKey struct{}

// WithEnv returns ctx carrying the environment an X-Ray request acts on.
// The app sets it: from the SigV4 credentials on the API door (SigV4 does
// it), from its fixed environment on the daemon TCP door.
func WithEnv(ctx context.Context, env string) context.Context {
	return context.WithValue(ctx, envKey{}, env)
}

// EnvFrom returns the environment set by WithEnv.
func EnvFrom(ctx context.Context) (string, bool) {
	env, ok := ctx.Value(envKey{}).(string)
	return env, ok && env != ""
}

// Config configures the Handler. Zero fields take defaults.
type Config struct {
	// Meta holds rules, groups, tags and encryption config. Required.
	Meta *sampling.Manager
	// DefaultEnv is used when the request context carries none; empty
	// rejects such requests with MissingAuthenticationTokenException.
	DefaultEnv string
	// MaxBodyBytes bounds request bodies (default 1 MiB).
	MaxBodyBytes int64
	// PageSize is the number of items per page of paginated answers
	// (default 100).
	PageSize int
	// Allow, when set, is asked before each operation; false answers
	// ThrottledException (429).
	Allow func(ctx context.Context, env, operation string) bool
	// NewRequestID returns the x-amzn-RequestId of a response (default:
	// a random UUID).
	NewRequestID func() string
	Logger       *slog.Logger
}

// Operation is one X-Ray operation: it gets the environment and the raw
// JSON body and returns the value to encode as the 200 answer, or an error
// (an *APIError, a *sampling.Error, or anything else for a 500).
type Operation func(ctx context.Context, env string, body []byte) (any, error)

type route struct {
	name string
	op   Operation
}

// Handler serves the X-Ray API.
type Handler struct {
	cfg    Config
	meta   *sampling.Manager
	routes map[string]route
}

// New returns the X-Ray API handler with the control-plane operations
// registered.
func New(cfg Config) (*Handler, error) {
	if cfg.Meta == nil {
		return nil, errors.New("xray: Config.Meta is required")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = defaultMaxBodyBytes
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = defaultPageSize
	}
	if cfg.NewRequestID == nil {
		cfg.NewRequestID = newUUID
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{cfg: cfg, meta: cfg.Meta, routes: map[string]route{}}
	h.registerSampling()
	h.registerGroups()
	h.registerResources()
	h.registerPolicies()
	h.registerStubs()
	h.registerIndexing()
	return h, nil
}

// Handle registers op under the POST path (e.g. "/TraceSummaries") with
// its X-Ray operation name; it replaces an earlier registration.
func (h *Handler) Handle(path, name string, op Operation) {
	h.routes[path] = route{name: name, op: op}
}

// Operations returns the registered paths and their operation names.
func (h *Handler) Operations() map[string]string {
	out := make(map[string]string, len(h.routes))
	for p, r := range h.routes {
		out[p] = r.name
	}
	return out
}

// ServeHTTP routes a POST to its operation.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(headerRequestID, h.cfg.NewRequestID())
	rt, ok := h.routes[r.URL.Path]
	if !ok || r.Method != http.MethodPost {
		writeError(w, &APIError{Status: http.StatusNotFound, Code: CodeUnknownOperation, Message: errMessageUnknownOperate})
		return
	}
	env, ok := EnvFrom(r.Context())
	if !ok {
		env = h.cfg.DefaultEnv
	}
	if env == "" {
		writeError(w, &APIError{Status: http.StatusForbidden, Code: CodeMissingToken, Message: "Missing Authentication Token"})
		return
	}
	if h.cfg.Allow != nil && !h.cfg.Allow(r.Context(), env, rt.name) {
		writeError(w, Throttled())
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, &APIError{Status: http.StatusRequestEntityTooLarge, Code: CodeRequestTooLarge, Message: "Request body is larger than the limit of " + strconv.FormatInt(h.cfg.MaxBodyBytes, 10) + " bytes."})
			return
		}
		writeError(w, InvalidRequest("Cannot read the request body."))
		return
	}
	resp, err := h.call(r.Context(), rt, env, body)
	if err != nil {
		ae := toAPIError(err)
		if ae.Status >= 500 {
			h.cfg.Logger.Error("X-Ray operation failed", "operation", rt.name, "env", env, "err", err)
		}
		writeError(w, ae)
		return
	}
	if resp == nil {
		resp = struct{}{}
	}
	writeJSON(w, http.StatusOK, resp)
}

func (h *Handler) call(ctx context.Context, rt route, env string, body []byte) (resp any, err error) {
	defer func() {
		if p := recover(); p != nil {
			h.cfg.Logger.Error("X-Ray operation panicked", "operation", rt.name, "panic", p)
			resp, err = nil, errors.New("panic")
		}
	}()
	return rt.op(ctx, env, body)
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	s := hex.EncodeToString(b[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}
