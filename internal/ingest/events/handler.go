package events

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tracecomb/tracecomb/internal/api"
	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/ingest"
	"github.com/tracecomb/tracecomb/internal/model"
)

// Patterns the handler serves, for net/http.ServeMux.
const (
	PatternEvent = "POST /1/events/{dataset}"
	PatternBatch = "POST /1/batch/{dataset}"
)

// Request headers of /1/events.
const (
	HeaderEventTime  = "X-Honeycomb-Event-Time"
	HeaderSampleRate = "X-Honeycomb-Samplerate"
)

// Handler serves Honeycomb's Events API.
type Handler struct {
	cfg      Config
	deps     Deps
	inflater *ingest.Inflater
	log      *slog.Logger
	m        *metrics
	now      func() time.Time
	rejects  ingest.RejectLog
}

// NewHandler returns the handler. Zero Config fields take their defaults.
// It fails if cfg is invalid or deps lacks Auth or Consumer.
func NewHandler(cfg Config, deps Deps) (*Handler, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Auth == nil || deps.Consumer == nil {
		return nil, errors.New("events: Deps.Auth and Deps.Consumer are required")
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(deps.Metrics)
	if err != nil {
		return nil, err
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	inflater := deps.Inflater
	if inflater == nil {
		inflater = ingest.NewInflater(0, 0)
	}
	return &Handler{cfg: cfg, deps: deps, inflater: inflater, log: log.With("component", "events"), m: m, now: now}, nil
}

// Register mounts POST /1/events/{dataset} and POST /1/batch/{dataset}.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc(PatternEvent, h.ServeEvent)
	mux.HandleFunc(PatternBatch, h.ServeBatch)
}

// ServeEvent serves POST /1/events/{dataset}: one event, answered 200 with
// an empty body once it is committed.
func (h *Handler) ServeEvent(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, endpointEvents)
}

// ServeBatch serves POST /1/batch/{dataset}: answered 200 with one status
// per event once the valid ones are committed.
func (h *Handler) ServeBatch(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, endpointBatch)
}

// outcome is what a request came to, for metrics and the log.
type outcome struct {
	code     int
	reason   string // why it was refused
	dataset  string
	rejected int    // events answered 400 inside a 200 batch answer
	first    Status // the first of them
	events   int
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, endpoint string) {
	o := h.handle(w, r, endpoint)
	h.m.requests.WithLabelValues(endpoint, strconv.Itoa(o.code)).Inc()
	switch {
	case o.code >= 400:
		h.rejects.Warn(h.log, strconv.Itoa(o.code), "rejected a Honeycomb Events API request",
			"endpoint", "/1/"+endpoint, "remote", r.RemoteAddr, "dataset", o.dataset, "status", o.code, "reason", o.reason)
	case o.rejected > 0:
		h.rejects.Warn(h.log, "event-400", "rejected events of a Honeycomb batch",
			"remote", r.RemoteAddr, "dataset", o.dataset, "rejected", o.rejected, "events", o.events,
			"first_error", o.first.Error, "first_reason", o.first.Detail)
	}
}

func (h *Handler) handle(w http.ResponseWriter, r *http.Request, endpoint string) (o outcome) {
	received := h.now()
	ctx := r.Context()
	fail := func(status int, msg, reason string) outcome {
		if status == http.StatusServiceUnavailable {
			secs := int64((h.cfg.RetryAfter + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
		}
		writeError(w, status, msg)
		o.code, o.reason = status, reason
		return o
	}

	p, status, err := h.authenticate(ctx, api.TeamKey(r))
	if err != nil {
		if status == http.StatusServiceUnavailable {
			return fail(status, "authentication is unavailable, retry later", err.Error())
		}
		return fail(status, err.Error(), err.Error())
	}

	ds, bad := DatasetName(r.PathValue("dataset"))
	o.dataset = ds
	if bad != "" {
		return fail(http.StatusBadRequest, bad, bad)
	}
	if !p.Can(auth.PermCreateDatasets) && h.deps.DatasetExists != nil {
		ok, err := h.deps.DatasetExists(ctx, p.Env, ds)
		switch {
		case err != nil:
			return fail(http.StatusServiceUnavailable, "temporarily unable to look the dataset up, retry later", err.Error())
		case !ok:
			return fail(http.StatusNotFound, MsgNotFound, "the key may not create datasets and "+strconv.Quote(ds)+" does not exist")
		}
	}

	limit := h.cfg.MaxBatchBytes
	if endpoint == endpointEvents {
		limit = h.cfg.MaxEventBodyBytes
	}
	if r.ContentLength > limit {
		return fail(http.StatusBadRequest, MsgTooLarge, "a body of "+strconv.FormatInt(r.ContentLength, 10)+" bytes, the limit is "+strconv.FormatInt(limit, 10))
	}
	ce := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	switch ce {
	case "", "identity", "gzip", "x-gzip", "zstd":
	default:
		return fail(http.StatusBadRequest, MsgMalformed, "unsupported Content-Encoding "+strconv.Quote(ce)+": send gzip, zstd or none")
	}
	// The bodies are given back once the events are built (they do not
	// alias them), so a request waiting for its commit holds only its
	// events; the decompressed one is held on the decompression budget.
	rb, err := ingest.ReadBody(ctx, r.Body, r.ContentLength, limit, ce, h.inflater, h.cfg.MaxDecompressedBytes)
	var be *ingest.BodyError
	if errors.As(err, &be) {
		switch be.Problem {
		case ingest.BodyTooLarge:
			return fail(http.StatusBadRequest, MsgTooLarge, "a body over "+strconv.FormatInt(limit, 10)+" bytes")
		case ingest.BodyUnreadable:
			return fail(http.StatusBadRequest, MsgMalformed, "reading the body: "+err.Error())
		case ingest.BodyInflateBusy:
			return fail(http.StatusServiceUnavailable, err.Error(), err.Error())
		case ingest.BodyInflatedTooLarge:
			return fail(http.StatusBadRequest, MsgTooLarge, "over "+strconv.FormatInt(h.cfg.MaxDecompressedBytes, 10)+" bytes after decompression")
		default:
			return fail(http.StatusBadRequest, MsgMalformed, "the "+ce+" body does not decompress: "+err.Error())
		}
	}
	defer rb.Free()
	body := rb.Bytes

	opt := Options{Dataset: ds, Now: received, MaxEventBytes: h.cfg.MaxEventBytes, MaxFields: h.cfg.MaxFields, MaxEvents: h.cfg.MaxBatchEvents}
	if h.deps.ExpandJSONDepth != nil {
		opt.ExpandDepth = h.deps.ExpandJSONDepth(ctx, p.Env, ds)
	}
	if h.deps.FieldNames != nil {
		opt.FieldNames = h.deps.FieldNames(ctx, p.Env, ds)
	}
	format := FormatOf(r.Header.Get("Content-Type"))
	var batch Batch
	if endpoint == endpointEvents {
		ev, err := DecodeEvent(body, format, r.Header.Get(HeaderEventTime), r.Header.Get(HeaderSampleRate), opt)
		if err != nil {
			e := asError(err)
			if !isBlank(body) {
				h.m.received.WithLabelValues(endpoint).Inc()
				h.m.rejected.WithLabelValues(endpoint).Inc()
			}
			return fail(e.Status, e.Message, format.String()+": "+e.Error())
		}
		batch = Batch{Events: []model.Event{ev}, Status: []Status{{Code: http.StatusAccepted}}}
	} else {
		batch, err = DecodeBatch(body, format, opt)
		if err != nil {
			e := asError(err)
			return fail(e.Status, e.Message, format.String()+": "+e.Error())
		}
	}
	rb.Free()
	h.m.received.WithLabelValues(endpoint).Add(float64(len(batch.Status)))
	if n := batch.Rejected(); n > 0 {
		h.m.rejected.WithLabelValues(endpoint).Add(float64(n))
	}

	if n := len(batch.Events); n > 0 {
		err := h.deps.Consumer.Consume(ctx, p.Env, batch.Events) // the events are the consumer's now
		re := ingest.Refused(err)
		switch {
		case err == nil:
			h.m.stored.WithLabelValues(endpoint).Add(float64(n))
		case re != nil:
			// The store refused some events (its column limits) and stored
			// the rest: each refused one gets its 400, as Honeycomb
			// answers an event past its dataset's column limit.
			h.m.stored.WithLabelValues(endpoint).Add(float64(n - len(re.Refused)))
			h.m.rejected.WithLabelValues(endpoint).Add(float64(len(re.Refused)))
			if endpoint == endpointEvents {
				return fail(http.StatusBadRequest, re.Refused[0].Text(), re.Error())
			}
			markRefused(batch.Status, re.Refused)
		case errors.Is(err, ingest.ErrOverloaded):
			// Honeycomb's 429 carries no Retry-After; libhoney waits 1 s and retries.
			return fail(http.StatusTooManyRequests, MsgRateLimited, err.Error())
		case ingest.IsPermanent(err):
			h.m.rejected.WithLabelValues(endpoint).Add(float64(n))
			return fail(http.StatusBadRequest, err.Error(), err.Error())
		default:
			if ctx.Err() == nil && !errors.Is(err, ingest.ErrShuttingDown) {
				h.rejects.Warn(h.log, "store", "storing Honeycomb events failed", "env", p.Env, "dataset", ds, "events", n, "err", err)
			}
			return fail(http.StatusServiceUnavailable, "temporarily unable to store events, retry later", err.Error())
		}
	}

	o.code, o.events = http.StatusOK, len(batch.Status)
	if o.rejected = batch.Rejected(); o.rejected > 0 {
		for _, st := range batch.Status {
			if st.Code != http.StatusAccepted {
				o.first = st
				break
			}
		}
	}
	if endpoint == endpointEvents {
		w.WriteHeader(http.StatusOK)
		return o
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(AppendStatuses(make([]byte, 0, 16*len(batch.Status)+2), batch.Status))
	return o
}

// markRefused turns the statuses of refused events into 400s: the k-th
// event handed to the consumer is the k-th status that is a 202.
func markRefused(statuses []Status, refused []ingest.Refusal) {
	k, next := 0, 0
	for i := range statuses {
		if statuses[i].Code != http.StatusAccepted {
			continue
		}
		if next < len(refused) && refused[next].Index == k {
			statuses[i] = Status{Code: http.StatusBadRequest, Error: refused[next].Text(), Detail: refused[next].Err.Error()}
			next++
		}
		k++
	}
}

// asError returns the decoders' *Error (any other error, which they do
// not return, as a malformed body).
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return badRequest(MsgMalformed, err.Error())
}

// authenticate resolves the key: 401 with Honeycomb's message for a
// missing, unknown or revoked key or one without the events permission,
// 503 when the key store fails.
func (h *Handler) authenticate(ctx context.Context, key string) (auth.Principal, int, error) {
	if key == "" {
		return auth.Principal{}, http.StatusUnauthorized, auth.ErrMissingKey
	}
	p, err := h.deps.Auth.Authenticate(ctx, key)
	switch {
	case err == nil:
		if err := p.Check(auth.PermEvents); err != nil {
			return p, http.StatusUnauthorized, err
		}
		return p, http.StatusOK, nil
	case errors.Is(err, auth.ErrMissingKey), errors.Is(err, auth.ErrUnknownKey), errors.Is(err, auth.ErrDisabledKey):
		return p, http.StatusUnauthorized, err
	}
	return p, http.StatusServiceUnavailable, err
}

// AppendStatuses appends a batch answer: [{"status":202},{"status":400,"error":"…"}].
func AppendStatuses(dst []byte, sts []Status) []byte {
	dst = append(dst, '[')
	for i, st := range sts {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"status":`...)
		dst = strconv.AppendInt(dst, int64(st.Code), 10)
		if st.Error != "" {
			dst = append(dst, `,"error":`...)
			dst = appendJSONString(dst, []byte(st.Error))
		}
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// writeError writes Honeycomb's legacy error body {"error": msg}, the one
// its Events API answers with.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b := append([]byte(`{"error":`), appendJSONString(nil, []byte(msg))...)
	_, _ = w.Write(append(b, '}', '\n'))
}

// DatasetName reads the dataset path segment (already unescaped): 1..255
// characters, surrounding spaces trimmed, no '/' (an encoded %2F), no
// control characters, not "__all__" (which names the whole environment in
// queries). A bad name comes back with the reason.
func DatasetName(segment string) (name, bad string) {
	name = strings.TrimSpace(segment)
	switch {
	case name == "":
		return name, "dataset name is empty"
	case strings.Contains(name, "/"):
		return name, "a dataset name cannot contain '/' (%2F)"
	case !utf8.ValidString(name):
		return name, "dataset name is not valid UTF-8"
	case utf8.RuneCountInString(name) > 255:
		return name, "dataset name is longer than 255 characters"
	case name == "__all__":
		return name, "__all__ is not a dataset name: queries use it for every dataset of the environment"
	}
	for _, c := range name {
		if c < 0x20 || c == 0x7f {
			return name, "dataset name contains a control character"
		}
	}
	return name, ""
}
