package app

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	xrayapi "github.com/tracecomb/tracecomb/internal/api/xray"
	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/ingest"
	"github.com/tracecomb/tracecomb/internal/ingest/otlp"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/duckdb"
)

// doorDeps is what every ingest door needs.
type doorDeps struct {
	logger   *slog.Logger
	metrics  prometheus.Registerer
	auth     auth.Authenticator
	consumer ingest.Consumer
	pending  *ingest.Budget   // --max-pending-bytes, the batcher's
	inflater *ingest.Inflater // --max-decompress-bytes
	otlp     otlp.Config      // --max-decoded-bytes
	gate     *ingestGate      // refuses ingest on shutdown
	grpc     grpcLimits
}

func (a *App) doorDeps() doorDeps {
	oc := otlp.DefaultConfig()
	oc.MaxDecodedBytes = a.cfg.MaxDecodedBytes
	return doorDeps{logger: a.logger, metrics: a.metrics, auth: a.registry, consumer: a.doorConsumer(model.DoorHoneycomb),
		pending: a.batcher.Budget(), inflater: a.inflater, otlp: oc, gate: a.gate, grpc: a.grpcLimits}
}

// doorConsumer is the ingest entry of a service's doors: doorStore's
// consumer, whose events are also forwarded to that service when
// forwarding to it is on (forwardTo, docs/forwarding.md).
func (a *App) doorConsumer(d model.Door) ingest.Consumer {
	return a.forwardTo(d, a.doorStore(d))
}

// doorStore is the store side of a service's doors: it commits their
// events in the store environment that door's reads use (store.DoorEnv),
// so each API sees only what was sent to its own service. X-Ray's doors
// put the spans of traces Transaction Search does not index in
// store.XRayUnindexedEnv instead (xrayapi.IndexingConsumer).
func (a *App) doorStore(d model.Door) ingest.Consumer {
	if d == model.DoorHoneycomb {
		return a.batcher
	}
	part := func(name func(env string) string) ingest.Consumer {
		return ingest.ConsumerFunc(func(ctx context.Context, env string, events []model.Event) error {
			return a.batcher.Consume(ctx, name(env), events)
		})
	}
	return xrayapi.IndexingConsumer(a.xrayMeta,
		part(func(env string) string { return store.DoorEnv(env, d) }),
		part(store.XRayUnindexedEnv))
}

func openStore(ctx context.Context, cfg Config, logger *slog.Logger) (store.Store, error) {
	if cfg.Store.Kind == StoreClickHouse {
		return openClickHouse(ctx, cfg, logger)
	}
	return duckdb.Open(ctx, duckdb.Config{
		Path:              filepath.Join(cfg.DataDir, StoreFileName),
		MemoryLimit:       cfg.StoreMemoryLimit,
		MinColumnDensity:  cfg.StoreColumnDensity,
		Retention:         store.Retention{MaxAge: cfg.RetentionAge, MaxBytes: cfg.RetentionSize},
		CompactMaxLive:    cfg.RetentionCompactMaxLive,
		MaxDatasetColumns: cfg.MaxDatasetColumns,
		MaxEnvColumns:     cfg.MaxEnvColumns,
	}, logger.With("component", "store"))
}

// grpcLimits bound what one client can hold on the gRPC door, as the
// HTTP servers' timeouts do on the others.
type grpcLimits struct {
	// handshake: a new connection must finish its HTTP/2 preface and
	// settings within it (as the HTTP doors' header timeout).
	handshake time.Duration
	// keepalive: a connection without calls for MaxConnectionIdle is closed
	// (GOAWAY); the server pings a connection quiet for Time and closes it
	// when the ping is not answered within Timeout.
	keepalive keepalive.ServerParameters
	// enforcement: a client may ping at most every MinTime, with or
	// without calls; one that pings more often is disconnected
	// (too_many_pings).
	enforcement keepalive.EnforcementPolicy
	// maxConcurrentStreams bounds the calls one connection runs at once;
	// more wait for a free stream on the client's side.
	maxConcurrentStreams uint32
}

// defaultGRPCLimits: handshake 10 s, idle connections closed after 2 min,
// a ping after 1 min of silence answered within 20 s, client pings at
// most every 10 s, 100 concurrent calls per connection.
func defaultGRPCLimits() grpcLimits {
	return grpcLimits{
		handshake: 10 * time.Second,
		keepalive: keepalive.ServerParameters{
			MaxConnectionIdle: 2 * time.Minute,
			Time:              time.Minute,
			Timeout:           20 * time.Second,
		},
		enforcement:          keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true},
		maxConcurrentStreams: 100,
	}
}

// newGRPCServer serves OTLP's TraceService, LogsService and MetricsService,
// on the gRPC door and (through the API door's h2c split) on the API door.
// Its calls pass the shutdown gate.
func newGRPCServer(d doorDeps) *grpc.Server {
	opts := append(otlp.GRPCServerOptions(d.otlp),
		grpc.ConnectionTimeout(d.grpc.handshake),
		grpc.KeepaliveParams(d.grpc.keepalive),
		grpc.KeepaliveEnforcementPolicy(d.grpc.enforcement),
		grpc.MaxConcurrentStreams(d.grpc.maxConcurrentStreams),
		grpc.ChainUnaryInterceptor(d.gate.unary),
		grpc.ChainStreamInterceptor(d.gate.stream),
	)
	s := grpc.NewServer(opts...)
	otlp.RegisterGRPC(s, d.otlp, otlp.Deps{Logger: d.logger.With("door", "otlp-grpc"), Metrics: d.metrics, Auth: d.auth, Consumer: d.consumer, Pending: d.pending})
	return s
}
