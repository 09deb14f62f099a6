package backend

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-xray-sdk-go/daemoncfg"
	"github.com/aws/aws-xray-sdk-go/strategy/sampling"
	"github.com/aws/aws-xray-sdk-go/xray"
	"github.com/aws/aws-xray-sdk-go/xraylog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Telemetry is what the server needs from the two tracing SDKs.
type Telemetry struct {
	// TracerProvider makes the server, client and custom spans.
	TracerProvider trace.TracerProvider
	// Propagator reads and writes trace context on HTTP headers.
	Propagator propagation.TextMapPropagator
	// XRay carries the X-Ray recorder configuration (xray.ContextWithConfig):
	// emitter, sampling strategy. It is only read, never cancelled.
	XRay context.Context
}

// SetupTelemetry builds the lesson's tracing from the environment: the
// OTLP/HTTP exporter and the resource read the standard OTEL_* variables
// themselves; X-Ray uses cfg.XRayDaemonAddr (which the SDK also overrides
// from AWS_XRAY_DAEMON_ADDRESS) with centralized sampling. The two SDKs
// make their trace ids independently, as in the lesson, unless
// cfg.ShareTraceID. The returned shutdown flushes the batch span processor.
func SetupTelemetry(ctx context.Context, cfg Config) (Telemetry, func(context.Context) error, error) {
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return Telemetry{}, nil, fmt.Errorf("cannot create the OTLP exporter: %w", err)
	}
	res, err := Resource(ctx)
	if err != nil {
		return Telemetry{}, nil, err
	}
	tp := sdktrace.NewTracerProvider(TracerProviderOptions(cfg,
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
	)...)
	strategy, err := sampling.NewCentralizedStrategy()
	if err != nil {
		return Telemetry{}, nil, fmt.Errorf("cannot create the X-Ray sampling strategy: %w", err)
	}
	xctx, err := XRayContext(cfg.XRayDaemonAddr, strategy)
	if err != nil {
		return Telemetry{}, nil, err
	}
	tel := Telemetry{TracerProvider: tp, Propagator: Propagator(), XRay: xctx}
	return tel, tp.Shutdown, nil
}

// TracerProviderOptions returns opts plus, when cfg.ShareTraceID, the id
// generator that makes OpenTelemetry trace ids valid X-Ray trace ids.
func TracerProviderOptions(cfg Config, opts ...sdktrace.TracerProviderOption) []sdktrace.TracerProviderOption {
	if cfg.ShareTraceID {
		opts = append(opts, sdktrace.WithIDGenerator(NewXRayIDGenerator()))
	}
	return opts
}

// Resource is the OTel resource as the SDK makes it: service.name from
// OTEL_SERVICE_NAME (or OTEL_RESOURCE_ATTRIBUTES), else the SDK's
// unknown_service:<executable>; the SDK and host attributes.
func Resource(ctx context.Context) (*resource.Resource, error) {
	res, err := resource.New(ctx,
		// resource.Default() has this default too, but it reads the
		// environment once per process.
		resource.WithAttributes(attribute.String("service.name", defaultServiceName())),
		resource.WithFromEnv(),
		resource.WithTelemetrySDK(),
		resource.WithHost(),
	)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("cannot build the OTel resource: %w", err)
	}
	return res, nil
}

// defaultServiceName is the OTel SDK's service.name when none is
// configured: unknown_service:<executable>.
func defaultServiceName() string {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	return "unknown_service:" + filepath.Base(exe)
}

// Propagator is W3C trace context plus baggage, Python's default too.
func Propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// XRayContext returns a context carrying an X-Ray recorder configuration
// that sends segments to daemonAddr over UDP and asks its TCP port for
// sampling rules when strategy is centralized.
func XRayContext(daemonAddr string, strategy sampling.Strategy) (context.Context, error) {
	ep, err := daemoncfg.GetDaemonEndpointsFromString(daemonAddr)
	if err != nil {
		return nil, fmt.Errorf("bad X-Ray daemon address %q: %w", daemonAddr, err)
	}
	em, err := xray.NewDefaultEmitter(ep.UDPAddr)
	if err != nil {
		return nil, fmt.Errorf("cannot create the X-Ray emitter: %w", err)
	}
	ctx, err := xray.ContextWithConfig(context.Background(), xray.Config{
		DaemonAddr:       daemonAddr,
		Emitter:          em,
		SamplingStrategy: strategy,
	})
	if err != nil {
		return nil, fmt.Errorf("bad X-Ray configuration: %w", err)
	}
	return ctx, nil
}

// XRayIDGenerator makes OTel ids that are valid X-Ray ids too: the first 4
// bytes of a trace id are the Unix time in seconds, the other 12 random, so
// "1-" + hex[0:8] + "-" + hex[8:32] is the same trace on both sides. It is
// used only with Config.ShareTraceID.
type XRayIDGenerator struct {
	now func() time.Time
}

// NewXRayIDGenerator returns a generator reading the wall clock.
func NewXRayIDGenerator() *XRayIDGenerator { return &XRayIDGenerator{now: time.Now} }

// NewIDs returns a new trace id and span id.
func (g *XRayIDGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	var tid trace.TraceID
	binary.BigEndian.PutUint32(tid[:4], uint32(g.now().Unix()))
	binary.BigEndian.PutUint32(tid[4:8], rand.Uint32())
	binary.BigEndian.PutUint64(tid[8:], rand.Uint64())
	return tid, g.NewSpanID(ctx, tid)
}

// NewSpanID returns a new non-zero span id.
func (g *XRayIDGenerator) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	var sid trace.SpanID
	for sid == (trace.SpanID{}) {
		binary.BigEndian.PutUint64(sid[:], rand.Uint64())
	}
	return sid
}

// maxTraceAge is how old an X-Ray trace id may be: X-Ray rejects segments
// of traces older than 30 days.
const maxTraceAge = 30 * day

// XRayHeader derives an X-Amzn-Trace-Id value from an OTel span context:
// Root is the trace id in X-Ray's layout, Parent the span id, and no
// Sampled field, so the X-Ray SDK applies its own sampling rules. It
// returns false when the span context is invalid or its trace id does not
// start with a plausible time (ids made by another generator), in which
// case X-Ray keeps a trace id of its own.
func XRayHeader(sc trace.SpanContext, now time.Time) (string, bool) {
	if !sc.IsValid() {
		return "", false
	}
	tid := sc.TraceID()
	epoch := time.Unix(int64(binary.BigEndian.Uint32(tid[:4])), 0)
	if epoch.Before(now.Add(-maxTraceAge)) || epoch.After(now.Add(5*time.Minute)) {
		return "", false
	}
	h := hex.EncodeToString(tid[:])
	sid := sc.SpanID()
	return "Root=1-" + h[:8] + "-" + h[8:] + ";Parent=" + hex.EncodeToString(sid[:]), true
}

// xrayHeaderBridge gives a request without an X-Amzn-Trace-Id header one
// derived from the OTel server span in its context. NewServer installs it
// only with Config.ShareTraceID.
func xrayHeaderBridge(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(xray.TraceIDHeaderKey) == "" {
			if v, ok := XRayHeader(trace.SpanContextFromContext(r.Context()), time.Now()); ok {
				r.Header.Set(xray.TraceIDHeaderKey, v)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// XRayLogger adapts l to the X-Ray SDK's logger (install it with
// xray.SetLogger, which is process-wide). The SDK logs one error per segment
// it cannot send (no daemon listening, say); warnings and errors are
// therefore limited to one every 10 seconds, with a count of those dropped.
func XRayLogger(l *slog.Logger) xraylog.Logger {
	return &xrayLogger{l: l, every: 10 * time.Second, now: time.Now}
}

type xrayLogger struct {
	l     *slog.Logger
	every time.Duration
	now   func() time.Time

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (x *xrayLogger) Log(level xraylog.LogLevel, msg fmt.Stringer) {
	var lv slog.Level
	switch level {
	case xraylog.LogLevelDebug:
		lv = slog.LevelDebug
	case xraylog.LogLevelInfo:
		lv = slog.LevelInfo
	case xraylog.LogLevelWarn:
		lv = slog.LevelWarn
	default:
		lv = slog.LevelError
	}
	ctx := context.Background()
	if !x.l.Enabled(ctx, lv) {
		return
	}
	attrs := []any{"component", "xray-sdk"}
	if lv >= slog.LevelWarn {
		x.mu.Lock()
		now := x.now()
		if !x.last.IsZero() && now.Sub(x.last) < x.every {
			x.suppressed++
			x.mu.Unlock()
			return
		}
		x.last = now
		if x.suppressed > 0 {
			attrs = append(attrs, "suppressed", x.suppressed)
			x.suppressed = 0
		}
		x.mu.Unlock()
	}
	x.l.Log(ctx, lv, msg.String(), attrs...)
}
