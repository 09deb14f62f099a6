package otlp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/ingest"
)

const (
	msgUnsupportedType = "unsupported content-type, valid types are: application/protobuf, application/x-protobuf, application/json"
	msgParseFailed     = "failed to parse OTLP request body"
	msgTooLarge        = "request body too large"
	headerHnyTeam      = "X-Hny-Team"
	headerDataset      = "X-Honeycomb-Dataset"
)

type bodyEncoding uint8

const (
	encProtobuf bodyEncoding = iota
	encJSON
)

// contentType picks the body encoding from a Content-Type header;
// parameters such as charset are ignored.
func contentType(h string) (enc bodyEncoding, mediaType string, ok bool) {
	mt, _, _ := strings.Cut(h, ";")
	mt = strings.TrimSpace(mt)
	switch {
	case strings.EqualFold(mt, "application/x-protobuf"):
		return encProtobuf, "application/x-protobuf", true
	case strings.EqualFold(mt, "application/protobuf"):
		return encProtobuf, "application/protobuf", true
	case strings.EqualFold(mt, "application/json"):
		return encJSON, "application/json", true
	}
	return 0, "", false
}

// httpHandler serves OTLP/HTTP exports of every signal.
type httpHandler struct{ r *receiver }

// NewHTTPHandler returns the OTLP/HTTP handler for POST /v1/traces,
// /v1/logs and /v1/metrics, each with or without a trailing slash; mount it
// on every pattern in Paths. The sender is the principal in the request's
// context (WithPrincipal) if there is one, else the owner of the
// x-honeycomb-team key. Other paths get 404, other methods 405. Zero
// Config fields take their defaults. It panics if cfg is invalid or deps
// lacks Auth or Consumer (a wiring mistake).
func NewHTTPHandler(cfg Config, deps Deps) http.Handler {
	r := mustReceiver(cfg, deps)
	r.log.Info("OTLP/HTTP handler ready (traces, logs, metrics)", "max_body_bytes", r.cfg.MaxBodyBytes)
	return &httpHandler{r: r}
}

func (h *httpHandler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var reason string
	sig, known := signalOf(req.URL.Path)
	code := h.serve(w, req, sig, known, &reason)
	label := "unknown"
	if known {
		label = signals[sig].name
	}
	h.r.m.requests.WithLabelValues(label, transportHTTP, strconv.Itoa(code)).Inc()
	if code >= 400 {
		h.r.rejected(transportHTTP, req.RemoteAddr, strconv.Itoa(code), reason)
	}
}

func (h *httpHandler) serve(w http.ResponseWriter, req *http.Request, sig signalKind, known bool, reason *string) int {
	if !known {
		*reason = WrongPathMessage(req.URL.Path)
		writeText(w, http.StatusNotFound, *reason)
		return http.StatusNotFound
	}
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		*reason = "method not allowed, use POST"
		writeText(w, http.StatusMethodNotAllowed, *reason)
		return http.StatusMethodNotAllowed
	}
	enc, mediaType, ok := contentType(req.Header.Get("Content-Type"))
	if !ok {
		*reason = msgUnsupportedType
		writeText(w, http.StatusUnsupportedMediaType, msgUnsupportedType)
		return http.StatusUnsupportedMediaType
	}
	fail := func(status int, c codes.Code, msg string) int {
		*reason = msg
		writeStatus(w, enc, mediaType, status, c, msg)
		return status
	}

	principal, o, err := h.principal(req)
	switch o {
	case outcomeUnauthorized:
		return fail(http.StatusUnauthorized, codes.Unauthenticated, err.Error())
	case outcomeOK:
	default:
		h.retryAfter(w)
		return fail(http.StatusServiceUnavailable, codes.Unavailable, "authentication is unavailable, retry later")
	}

	ce := strings.ToLower(strings.TrimSpace(req.Header.Get("Content-Encoding")))
	switch ce {
	case "", "identity", "gzip", "x-gzip", "zstd":
	default:
		return fail(http.StatusBadRequest, codes.InvalidArgument,
			"unsupported content-encoding "+strconv.Quote(ce)+", valid encodings are: gzip, zstd, identity")
	}
	if req.ContentLength > h.r.cfg.MaxBodyBytes {
		return fail(http.StatusRequestEntityTooLarge, codes.InvalidArgument, msgTooLarge)
	}
	// The bodies (as sent and decompressed) are given back as soon as the
	// events are built, which do not alias them: a request waiting for its
	// commit holds only its events. The decompressed body is held on the
	// decompression budget until then.
	rb, err := ingest.ReadBody(req.Context(), req.Body, req.ContentLength, h.r.cfg.MaxBodyBytes, ce, h.r.inflater, h.r.cfg.MaxDecompressedBytes)
	var be *ingest.BodyError
	if errors.As(err, &be) {
		switch be.Problem {
		case ingest.BodyTooLarge:
			return fail(http.StatusRequestEntityTooLarge, codes.InvalidArgument, msgTooLarge)
		case ingest.BodyUnreadable:
			return fail(http.StatusBadRequest, codes.InvalidArgument, "failed to read request body: "+err.Error())
		case ingest.BodyInflateBusy:
			h.retryAfter(w)
			return fail(http.StatusServiceUnavailable, codes.Unavailable, err.Error())
		case ingest.BodyInflatedTooLarge:
			return fail(http.StatusRequestEntityTooLarge, codes.InvalidArgument, msgTooLarge+" after decompression")
		default:
			return fail(http.StatusBadRequest, codes.InvalidArgument, "failed to decompress request body ("+ce+"): "+err.Error())
		}
	}
	defer rb.Free()
	body := rb.Bytes

	held := h.r.pending.NewReservation()
	defer held.Release()
	res, err := sig.decode(enc, body, RequestInfo{Dataset: req.Header.Get(headerDataset), MaxDecodedBytes: h.r.cfg.MaxDecodedBytes, Reservation: held})
	var tooMuch *DecodedTooLargeError
	switch {
	case errors.As(err, &tooMuch):
		return fail(http.StatusRequestEntityTooLarge, codes.InvalidArgument, err.Error())
	case errors.Is(err, ingest.ErrOverloaded):
		h.retryAfter(w)
		return fail(http.StatusTooManyRequests, codes.Unavailable, overloadedMessage(sig))
	case err != nil:
		return fail(http.StatusBadRequest, codes.InvalidArgument, msgParseFailed+": "+err.Error())
	}
	rb.Free()

	switch o, err := h.r.consume(ingest.WithReservation(req.Context(), held), transportHTTP, sig, principal.Env, &res); o {
	case outcomeOK:
	case outcomeBadData:
		return fail(http.StatusBadRequest, codes.InvalidArgument, err.Error())
	case outcomeOverloaded:
		h.retryAfter(w)
		return fail(http.StatusTooManyRequests, codes.Unavailable, err.Error())
	default:
		h.retryAfter(w)
		return fail(http.StatusServiceUnavailable, codes.Unavailable, "temporarily unable to store "+signals[sig].items+", retry later: "+err.Error())
	}

	w.Header().Set("Content-Type", mediaType)
	w.WriteHeader(http.StatusOK)
	if enc == encJSON {
		_, _ = w.Write(sig.appendResponseJSON(nil, res))
		return http.StatusOK
	}
	b, _ := proto.Marshal(sig.responseProto(res))
	_, _ = w.Write(b)
	return http.StatusOK
}

// principal is who sent req: the principal a door in front of the handler
// verified (WithPrincipal), else the owner of the request's Honeycomb key.
func (h *httpHandler) principal(req *http.Request) (auth.Principal, outcome, error) {
	if p, ok := req.Context().Value(principalKey{}).(auth.Principal); ok {
		return p, outcomeOK, nil
	}
	key := req.Header.Get(auth.HeaderTeam)
	if key == "" {
		key = req.Header.Get(headerHnyTeam)
	}
	return h.r.authenticate(req.Context(), key)
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p as the sender of the request that
// ctx belongs to, for a door that verifies the sender itself (such as
// SigV4-signed OTLP, signed with an AWS key pair) before the HTTP handler:
// the handler then stores the request's events in p.Env and reads no
// Honeycomb key header.
func WithPrincipal(ctx context.Context, p auth.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

func (h *httpHandler) retryAfter(w http.ResponseWriter) {
	secs := int64((h.r.cfg.RetryAfter + 999_999_999) / 1e9)
	w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
}

func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg)
}

// writeStatus writes a failure as a google.rpc.Status in the request's
// encoding. The JSON form is {"message":"..."}, as Honeycomb answers; the
// protobuf form also carries the gRPC code.
func writeStatus(w http.ResponseWriter, enc bodyEncoding, mediaType string, status int, c codes.Code, msg string) {
	w.Header().Set("Content-Type", mediaType)
	w.WriteHeader(status)
	if enc == encJSON {
		b := append([]byte(`{"message":`), appendJSONString(nil, msg)...)
		_, _ = w.Write(append(b, '}'))
		return
	}
	b, _ := proto.Marshal(&statuspb.Status{Code: int32(c), Message: msg})
	_, _ = w.Write(b)
}
