package backend

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-xray-sdk-go/xray"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Message length limits of the original services.
const (
	MaxActivityChars = 280  // create activity
	MaxReplyChars    = 1024 // create reply
	MaxMessageChars  = 1024 // create message
	maxBodyBytes     = 64 << 10
)

// Server is the Cruddur backend's HTTP handler with its tracing.
type Server struct {
	cfg       Config
	log       *slog.Logger
	tel       Telemetry
	tracer    trace.Tracer
	client    *http.Client
	transport *http.Transport
	upstream  string
	now       func() time.Time
	mux       *http.ServeMux
	handler   http.Handler
}

// NewServer builds the handler. upstream is the URL that home activities
// calls through the instrumented client ("" for no call); Run passes
// cfg.UpstreamURL or this server's own /api/health.
func NewServer(cfg Config, logger *slog.Logger, tel Telemetry, upstream string) *Server {
	s := &Server{
		cfg:      cfg,
		log:      logger,
		tel:      tel,
		tracer:   tel.TracerProvider.Tracer("github.com/tracecomb/tracecomb/examples/cruddur"),
		upstream: upstream,
		now:      time.Now,
		mux:      http.NewServeMux(),
	}
	// X-Ray subsegment outside, OTel client span inside: both headers go out.
	s.transport = http.DefaultTransport.(*http.Transport).Clone()
	s.client = xray.Client(&http.Client{
		Timeout: 5 * time.Second,
		Transport: otelhttp.NewTransport(s.transport,
			otelhttp.WithTracerProvider(tel.TracerProvider),
			otelhttp.WithPropagators(tel.Propagator)),
	})
	s.routes()

	var h http.Handler = http.HandlerFunc(s.serveAPI)
	h = newCORS(cfg.FrontendURL, cfg.BackendURL).wrap(h)
	h = xray.HandlerWithContext(tel.XRay, xray.NewDynamicSegmentNamer(cfg.XRayServiceName, cfg.XRayURL), h)
	if cfg.ShareTraceID {
		h = xrayHeaderBridge(h)
	}
	h = otelhttp.NewHandler(h, "",
		otelhttp.WithTracerProvider(tel.TracerProvider),
		otelhttp.WithPropagators(tel.Propagator),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }),
	)
	s.handler = h
	return s
}

// Close releases the outgoing client's idle connections.
func (s *Server) Close() { s.transport.CloseIdleConnections() }

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) routes() {
	s.handle("GET /api/health", s.health)
	s.handle("GET /api/activities/home", s.homeActivities)
	s.handle("GET /api/activities/notifications", s.notificationActivities)
	s.handle("GET /api/activities/search", s.searchActivities)
	s.handle("GET /api/activities/{handle}", s.userActivities)
	s.handle("POST /api/activities", s.createActivity)
	s.handle("POST /api/activities/{uuid}/reply", s.createReply)
	s.handle("GET /api/message_groups", s.messageGroups)
	s.handle("GET /api/messages/{handle}", s.messages)
	s.handle("POST /api/messages", s.createMessage)
}

// handle registers a route whose server span is named "METHOD route" and
// carries http.route, the route being the path of the ServeMux pattern.
func (s *Server) handle(pattern string, h http.HandlerFunc) {
	s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := r.Pattern
		if _, p, ok := strings.Cut(route, " "); ok {
			route = p
		}
		span := trace.SpanFromContext(r.Context())
		span.SetName(r.Method + " " + route)
		span.SetAttributes(attribute.String("http.route", route))
		h(w, r)
	}))
}

// serveAPI routes a request, answering OPTIONS (CORS preflight, as Flask's
// automatic OPTIONS does), unknown paths and wrong methods with JSON.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	allowed := s.allowedMethods(r)
	switch {
	case len(allowed) == 0:
		writeErrors(w, http.StatusNotFound, "not_found")
	case r.Method == http.MethodOptions:
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		w.WriteHeader(http.StatusOK)
	default:
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeErrors(w, http.StatusMethodNotAllowed, "method_not_allowed")
	}
}

// allowedMethods lists the methods the routes accept for r's path.
func (s *Server) allowedMethods(r *http.Request) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
		if _, p := s.mux.Handler(probe); p != "" {
			out = append(out, m)
			if m == http.MethodGet {
				out = append(out, http.MethodHead)
			}
		}
	}
	if len(out) > 0 {
		out = append(out, http.MethodOptions)
	}
	return out
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, Health{Success: true, Ver: 1})
}

// homeActivities calls the upstream (an outgoing HTTP client span and X-Ray
// subsegment) and builds the mock feed inside the lesson's custom span.
func (s *Server) homeActivities(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s.callUpstream(ctx)

	_, span := s.tracer.Start(ctx, "home-activities-mock-data")
	now := s.now().UTC()
	span.SetAttributes(attribute.String("app.now", isoTime(now)))
	results := homeActivities(now)
	span.SetAttributes(attribute.Int("app.result_length", len(results)))
	span.End()

	writeJSON(w, http.StatusOK, results)
}

// callUpstream makes the home feed's outgoing call. A failure is recorded
// on the trace and logged; the feed is served anyway.
func (s *Server) callUpstream(ctx context.Context) {
	if s.upstream == "" {
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.upstream, nil)
	if err != nil {
		s.log.Error("bad upstream URL", "url", s.upstream, "err", err)
		return
	}
	resp, err := s.client.Do(req)
	if err != nil {
		span := trace.SpanFromContext(ctx)
		span.RecordError(err)
		s.log.Warn("upstream call failed", "url", s.upstream, "err", err)
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	if resp.StatusCode >= 400 {
		s.log.Warn("upstream call failed", "url", s.upstream, "status", resp.StatusCode)
	}
}

func (s *Server) notificationActivities(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, notificationActivities(s.now().UTC()))
}

// handleParam returns the handle of an "@handle" path segment.
func handleParam(r *http.Request) (string, bool) {
	seg := r.PathValue("handle")
	h, ok := strings.CutPrefix(seg, "@")
	return h, ok
}

// userActivities builds a user's feed inside the X-Ray subsegment
// "mock-data", annotated with the handle and the result length.
func (s *Server) userActivities(w http.ResponseWriter, r *http.Request) {
	handle, ok := handleParam(r)
	if !ok {
		writeErrors(w, http.StatusNotFound, "not_found")
		return
	}
	if handle == "" {
		writeErrors(w, http.StatusUnprocessableEntity, "blank_user_handle")
		return
	}
	if _, known := users[handle]; !known {
		writeErrors(w, http.StatusNotFound, "user_not_found")
		return
	}
	var results []UserActivity
	_ = xray.Capture(r.Context(), "mock-data", func(ctx context.Context) error {
		now := s.now().UTC()
		results = userActivities(handle, now)
		_ = xray.AddAnnotation(ctx, "user_handle", handle)
		_ = xray.AddAnnotation(ctx, "result_length", len(results))
		_ = xray.AddMetadataToNamespace(ctx, "cruddur", "mock-data", map[string]any{
			"now":          isoTime(now),
			"results-size": len(results),
		})
		return nil
	})
	writeJSON(w, http.StatusOK, results)
}

func (s *Server) searchActivities(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("term") == "" {
		writeErrors(w, http.StatusUnprocessableEntity, "search_term_blank")
		return
	}
	writeJSON(w, http.StatusOK, searchActivities(s.now().UTC()))
}

func (s *Server) createActivity(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Message *string `json:"message"`
		TTL     *string `json:"ttl"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	var errs []string
	ttl, ok := ttlOffsets[deref(in.TTL)]
	if !ok {
		errs = append(errs, "ttl_blank")
	}
	errs = append(errs, checkMessage(deref(in.Message), MaxActivityChars)...)
	if len(errs) > 0 {
		writeErrors(w, http.StatusUnprocessableEntity, errs...)
		return
	}
	now := s.now().UTC()
	writeJSON(w, http.StatusOK, CreatedActivity{
		UUID:        newUUID(),
		DisplayName: currentDisplayName,
		Handle:      currentHandle,
		Message:     *in.Message,
		CreatedAt:   isoTime(now),
		ExpiresAt:   isoTime(now.Add(ttl)),
	})
}

func (s *Server) createReply(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Message *string `json:"message"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	activity := r.PathValue("uuid")
	if errs := checkMessage(deref(in.Message), MaxReplyChars); len(errs) > 0 {
		writeErrors(w, http.StatusUnprocessableEntity, errs...)
		return
	}
	writeJSON(w, http.StatusOK, CreatedReply{
		UUID:                newUUID(),
		DisplayName:         currentDisplayName,
		Handle:              currentHandle,
		Message:             *in.Message,
		ReplyToActivityUUID: activity,
	})
}

func (s *Server) messageGroups(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, messageGroups(s.now().UTC()))
}

func (s *Server) messages(w http.ResponseWriter, r *http.Request) {
	handle, ok := handleParam(r)
	if !ok {
		writeErrors(w, http.StatusNotFound, "not_found")
		return
	}
	if handle == "" {
		writeErrors(w, http.StatusUnprocessableEntity, "user_reciever_handle_blank")
		return
	}
	if _, known := users[handle]; !known {
		writeErrors(w, http.StatusNotFound, "user_not_found")
		return
	}
	writeJSON(w, http.StatusOK, messages(s.now().UTC()))
}

func (s *Server) createMessage(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Message            *string `json:"message"`
		UserReceiverHandle *string `json:"user_receiver_handle"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	var errs []string
	receiver := deref(in.UserReceiverHandle)
	if receiver == "" {
		// The original's spelling, kept so clients see the same code.
		errs = append(errs, "user_reciever_handle_blank")
	}
	errs = append(errs, checkMessage(deref(in.Message), MaxMessageChars)...)
	if len(errs) > 0 {
		writeErrors(w, http.StatusUnprocessableEntity, errs...)
		return
	}
	if _, known := users[receiver]; !known {
		writeErrors(w, http.StatusNotFound, "user_not_found")
		return
	}
	writeJSON(w, http.StatusOK, Message{
		UUID:        newUUID(),
		DisplayName: currentDisplayName,
		Handle:      currentHandle,
		Message:     *in.Message,
		CreatedAt:   isoTime(s.now().UTC()),
	})
}

// checkMessage applies the original's rules: not blank, at most max
// characters (Unicode code points, as Python's len counts).
func checkMessage(msg string, max int) []string {
	switch {
	case msg == "":
		return []string{"message_blank"}
	case utf8.RuneCountInString(msg) > max:
		return []string{"message_exceed_max_chars"}
	}
	return nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// readJSON decodes a JSON object body into v. It answers 415 when the body
// is not declared JSON (as Flask's request.json does), 413 when it is too
// large, 400 when it is not a JSON object and 422 naming a field of the
// wrong type; it returns false after answering.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		writeErrors(w, http.StatusUnsupportedMediaType, "content_type_not_json")
		return false
	}
	body := http.MaxBytesReader(w, r.Body, maxBodyBytes)
	dec := json.NewDecoder(body)
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("trailing data")
	}
	var tooBig *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return true
	case errors.As(err, &tooBig):
		writeErrors(w, http.StatusRequestEntityTooLarge, "body_too_large")
	case errors.As(err, &typeErr) && typeErr.Field != "":
		writeErrors(w, http.StatusUnprocessableEntity, typeErr.Field+"_not_a_string")
	default:
		writeErrors(w, http.StatusBadRequest, "invalid_json")
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `["internal_error"]`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeErrors answers with the original's error shape: a JSON array of
// error codes.
func writeErrors(w http.ResponseWriter, status int, codes ...string) {
	writeJSON(w, status, codes)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
