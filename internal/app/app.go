// Package app is tracecomb's composition root: it turns a Config into
// running doors (OTLP/gRPC, the HTTP API door, the X-Ray daemon door, the
// UI), wires them to the ingest batcher, the store and the key registry,
// and shuts them down in order — doors first, then the batcher (which
// commits what was accepted), then the store. Nothing imports app.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/net/netutil"
	"google.golang.org/grpc"

	"github.com/tracecomb/tracecomb/internal/api"
	"github.com/tracecomb/tracecomb/internal/api/honeycomb"
	xrayapi "github.com/tracecomb/tracecomb/internal/api/xray"
	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/ingest"
	"github.com/tracecomb/tracecomb/internal/ingest/otlp"
	"github.com/tracecomb/tracecomb/internal/sampling"
	"github.com/tracecomb/tracecomb/internal/state"
	"github.com/tracecomb/tracecomb/internal/store"
)

// StoreFileName is the DuckDB database file inside the data directory.
const StoreFileName = "tracecomb.duckdb"

// Addrs are the addresses the doors actually listen on (useful with port 0).
type Addrs struct {
	OTLPGRPC string
	HTTP     string
	XRay     string
	UI       string
	Pprof    string
}

// App is a running tracecomb server.
type App struct {
	cfg      Config
	logger   *slog.Logger
	out      io.Writer // the start-up banner and the one-time key
	metrics  *prometheus.Registry
	state    state.Store // everything that is not telemetry
	registry *auth.Registry
	store    store.Store
	batcher  *ingest.Batcher
	inflater *ingest.Inflater // the decompression budget every door shares
	forward  *forwarding      // forwarders to the real services (upstream.go)

	grpcServer  *grpc.Server
	httpServer  *http.Server
	uiServer    *http.Server
	pprofServer *http.Server
	xray        *xrayapi.Handler
	xrayMeta    *sampling.Manager             // X-Ray's control plane (startXRayControl)
	xraySigned  http.Handler                  // xray behind SigV4, as the API door mounts it
	stoppers    []func(context.Context) error // extra doors, stopped with the others

	// gate stops ingest first on shutdown (see Shutdown); ingestStopped
	// is closed once it has, and the read doors stop only then.
	gate          *ingestGate
	ingestStopped chan struct{}
	grpcLimits    grpcLimits

	rejects ingest.RejectLog // requests to unknown paths
	// authFailures slows key guessing on the API door (429 per address).
	authFailures api.FailureLimiter
	listeners    []net.Listener
	serving      []func() // doors bound and waiting for Start to serve them
	addrs        Addrs
	cancel       context.CancelFunc
	wg           sync.WaitGroup
	errc         chan error
	shutdown     sync.Once
	shutErr      error
}

// New opens the data directory (key registry and store). Start binds the
// doors and, on a new directory, creates environment "test" and its first
// key, which the banner printed to out shows once.
func New(ctx context.Context, cfg Config, logger *slog.Logger, out io.Writer) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tightenDataDir(cfg.DataDir, logger)
	sst, err := openState(ctx, cfg.DataDir, cfg.StateURL, logger)
	if err != nil {
		return nil, err
	}
	if err := auth.Import(ctx, sst, cfg.DataDir, logger); err != nil {
		sst.Close()
		return nil, err
	}
	reg, err := auth.New(ctx, sst, logger)
	if err != nil {
		sst.Close()
		return nil, err
	}
	st, err := openStore(ctx, cfg, logger)
	if err != nil {
		sst.Close()
		return nil, err
	}
	m := prometheus.NewRegistry()
	m.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a := &App{cfg: cfg, logger: logger, out: out, metrics: m, state: sst, registry: reg, store: st, errc: make(chan error, 8),
		gate: newIngestGate(), ingestStopped: make(chan struct{}), grpcLimits: defaultGRPCLimits()}
	a.batcher = ingest.NewBatcher(ingest.BatcherConfig{MaxPendingEvents: cfg.MaxPendingEvents, MaxPendingBytes: cfg.MaxPendingBytes}, a.flush, logger, m)
	a.inflater = ingest.NewInflater(cfg.MaxDecompressBytes, 0)
	if err := a.inflater.Register(m); err != nil {
		return nil, err
	}
	setGoMemoryLimit(cfg, logger)
	return a, nil
}

// goHeapHeadroom is what the Go heap's soft limit allows beyond the
// ingest budgets: connections, request bodies being read, queries, caches.
const goHeapHeadroom = 256 << 20

// setGoMemoryLimit gives the Go runtime a soft memory limit of the ingest
// budgets plus goHeapHeadroom (768 MiB with the defaults), unless
// GOMEMLIMIT sets one: what the budgets hold is bounded, and this bounds
// the garbage it leaves (request bodies, decoded requests), which the
// collector would otherwise let grow to as much again before collecting.
// It is soft: past it the collector works harder (within half the CPU)
// rather than failing. DuckDB's memory is apart (--store-memory-limit).
func setGoMemoryLimit(cfg Config, logger *slog.Logger) {
	if _, set := os.LookupEnv("GOMEMLIMIT"); set {
		return
	}
	limit := cfg.MaxPendingBytes + cfg.MaxDecompressBytes + goHeapHeadroom
	debug.SetMemoryLimit(limit)
	logger.Debug("Go heap soft limit set from the ingest budgets", "bytes", limit)
}

func (a *App) flush(ctx context.Context, groups []ingest.EnvEvents) error {
	batches := make([]store.Batch, len(groups))
	for i, g := range groups {
		batches[i] = store.Batch{Env: g.Env, Events: g.Events}
	}
	if err := a.store.Write(ctx, batches); err != nil {
		return err
	}
	for i, b := range batches {
		for _, r := range b.Refused {
			msg := ""
			if errors.Is(r.Err, store.ErrTooManyColumns) {
				msg = store.TooManyColumnsMessage // Honeycomb's words, for every door
			}
			groups[i].Refused = append(groups[i].Refused, ingest.Refusal{Index: r.Index, Err: r.Err, Message: msg})
		}
	}
	return nil
}

// Consumer is the ingest entry every door hands events to.
func (a *App) Consumer() ingest.Consumer { return a.batcher }

// Registry returns the key registry.
func (a *App) Registry() *auth.Registry { return a.registry }

// Store returns the store.
func (a *App) Store() store.Store { return a.store }

// Addrs returns the bound addresses; valid after Start.
func (a *App) Addrs() Addrs { return a.addrs }

// Start binds every door and serves in the background. Errors of a door
// after start are reported by Wait.
func (a *App) Start(ctx context.Context) error {
	ctx, a.cancel = context.WithCancel(ctx)
	a.wg.Add(1)
	go func() { defer a.wg.Done(); a.registry.Watch(ctx) }()
	if err := a.startForwarding(ctx); err != nil {
		return err
	}

	if err := a.startXRayControl(ctx); err != nil {
		return err
	}
	deps := a.doorDeps()
	a.grpcServer = newGRPCServer(deps)

	// The Events API reads dataset definitions from this cache; the
	// Dataset Definitions API's PATCH and the state store's changes
	// (other nodes') keep it current.
	defs := honeycomb.NewDefinitions(a.state)
	defChanges := a.state.Watch(ctx)
	a.wg.Add(1)
	go func() { defer a.wg.Done(); defs.Follow(defChanges) }()

	mux := http.NewServeMux()
	if err := a.registerOTLPHTTP(mux, deps); err != nil {
		return err
	}
	a.registerEvents(mux, deps, defs)
	honeycomb.Register(mux, honeycomb.Deps{Auth: a.registry, Store: a.store, State: a.state, Logger: a.logger, Definitions: defs})
	if err := a.registerQuery(ctx, mux); err != nil {
		return err
	}
	if err := a.startAlerting(ctx); err != nil {
		return err
	}
	var metrics http.Handler = promhttp.HandlerFor(a.metrics, promhttp.HandlerOpts{Registry: a.metrics})
	if !a.cfg.MetricsPublic {
		metrics = api.RequireKey(a.registry, auth.PermRead, metrics)
	}
	mux.Handle("GET /metrics", metrics)
	mux.Handle("GET /healthz", a.storeHealthz())
	if err := a.registerXRay(ctx, mux); err != nil {
		return err
	}

	// The HTTP door also takes OTLP/gRPC (h2c), as Honeycomb's single
	// endpoint does, split on the content type.
	limited := api.LimitAuthFailures(&a.authFailures, mux)
	root := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			a.grpcServer.ServeHTTP(w, r)
			return
		}
		if _, pattern := mux.Handler(r); pattern == "" {
			if allow := otherMethods(mux, r); len(allow) > 0 {
				a.wrongMethod(w, r, allow)
			} else {
				a.unknownPath(w, r)
			}
			return
		}
		limited.ServeHTTP(w, r)
	})
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	a.httpServer = a.newHTTPServer(root)
	a.httpServer.Protocols = &protocols
	// OTLP/gRPC over h2c has the gRPC door's bound on concurrent calls.
	a.httpServer.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: int(a.grpcLimits.maxConcurrentStreams)}

	httpLn, err := a.listen("tcp", a.cfg.HTTPAddr, "http")
	if err != nil {
		return err
	}
	a.addrs.HTTP = httpLn.Addr().String()
	a.serve("http", func() error { return a.httpServer.Serve(httpLn) })

	if a.cfg.OTLPGRPCAddr != "" {
		ln, err := a.listen("tcp", a.cfg.OTLPGRPCAddr, "otlp-grpc")
		if err != nil {
			return err
		}
		a.addrs.OTLPGRPC = ln.Addr().String()
		a.serve("otlp-grpc", func() error { return a.grpcServer.Serve(ln) })
	}
	if err := a.startXRayDaemon(ctx); err != nil {
		return err
	}
	if err := a.startUI(ctx); err != nil {
		return err
	}
	if err := a.startPprof(ctx); err != nil {
		return err
	}
	// Every door is bound: only now is the first key created (a start
	// that cannot bind loses nothing) and the banner printed; then the
	// doors serve.
	keys, err := a.registry.Bootstrap(a.cfg.BootstrapKey)
	if err != nil {
		return fmt.Errorf("cannot create the first key: %w", err)
	}
	a.printBanner(keys)
	for _, fn := range a.serving {
		fn()
	}
	a.serving = nil
	a.logger.Info("tracecomb started", "data_dir", a.cfg.DataDir, "http", a.addrs.HTTP, "otlp_grpc", a.addrs.OTLPGRPC, "xray", a.addrs.XRay, "ui", a.addrs.UI)
	return nil
}

// doorGrace is how long a stopping door lets its requests in flight
// finish: a fifth of the shutdown timeout, at most 5 s. Shutdown spends it
// twice, on ingest and then on the read doors, leaving the rest for the
// commit of what was acknowledged.
func (a *App) doorGrace() time.Duration {
	return min(5*time.Second, a.cfg.ShutdownTimeout/5)
}

// stopHTTP stops a door's server once ingest has stopped (until then it
// serves reads, and answers ingest 503): no new connections, the requests
// in flight get doorGrace to finish, then every connection still open is
// closed.
func (a *App) stopHTTP(door string, s *http.Server) func(context.Context) error {
	return func(ctx context.Context) error {
		select {
		case <-a.ingestStopped:
		case <-ctx.Done():
		}
		gctx, cancel := context.WithTimeout(ctx, a.doorGrace())
		defer cancel()
		err := s.Shutdown(gctx)
		if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			a.logger.Warn("closing connections still open after the grace period", "door", door, "grace", a.doorGrace())
			_ = s.Close() // the listeners are closed already
			return nil
		}
		return err
	}
}

// newHTTPServer is a door's HTTP server, with timeouts that bound what one
// slow or idle client can hold: the request headers must arrive within
// 10 s, the whole request (a 20 MiB body at 175 KB/s) within 2 min, and an
// idle keep-alive connection is closed after 2 min. Its ingest requests
// pass the shutdown gate.
func (a *App) newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           a.gate.HTTP(h),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn),
	}
}

// otherMethods lists the methods r's path is served for (none: the path is
// unknown).
func otherMethods(mux *http.ServeMux, r *http.Request) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, pattern := mux.Handler(r2); pattern != "" {
			allow = append(allow, m)
		}
	}
	return allow
}

// wrongMethod answers 405 with Allow, in Honeycomb's error body under its
// API's paths and in OTLP's plain text elsewhere.
func (a *App) wrongMethod(w http.ResponseWriter, r *http.Request, allow []string) {
	w.Header().Set("Allow", strings.Join(allow, ", "))
	msg := "method " + r.Method + " is not allowed on " + r.URL.Path + "; use " + strings.Join(allow, " or ")
	if isHoneycombAPIPath(r.URL.Path) {
		api.WriteError(w, http.StatusMethodNotAllowed, msg)
		return
	}
	http.Error(w, msg, http.StatusMethodNotAllowed)
}

// isHoneycombAPIPath reports whether p is under Honeycomb's API (/1/, /2/).
func isHoneycombAPIPath(p string) bool {
	return strings.HasPrefix(p, "/1/") || strings.HasPrefix(p, "/2/")
}

// unknownPath answers a path that no API of the door serves with a 404 that
// says what is served, and logs it (rate-limited): a client configured with
// a wrong URL would otherwise leave the server's log silent.
func (a *App) unknownPath(w http.ResponseWriter, r *http.Request) {
	msg := otlp.WrongPathMessage(r.URL.Path) + "; the Honeycomb API is under /1/, the X-Ray API takes POSTs such as /TraceSummaries"
	if isHoneycombAPIPath(r.URL.Path) {
		msg = "unknown API route " + r.Method + " " + r.URL.Path
	}
	a.rejects.Warn(a.logger, "404", "rejected a request to an unknown path", "door", "http", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path, "status", http.StatusNotFound)
	api.WriteError(w, http.StatusNotFound, msg)
}

// doorFlag names the flag (and variable) that sets a door's address.
func doorFlag(door string) string {
	switch door {
	case "http":
		return "--http-addr (TRACECOMB_HTTP_ADDR)"
	case "otlp-grpc":
		return "--otlp-grpc-addr (TRACECOMB_OTLP_GRPC_ADDR)"
	case "xray-tcp", "xray-udp":
		return "--xray-addr (TRACECOMB_XRAY_ADDR)"
	case "ui":
		return "--ui-addr (TRACECOMB_UI_ADDR)"
	case "pprof":
		return "--pprof-addr (TRACECOMB_PPROF_ADDR)"
	}
	return "its flag"
}

// bindError says which door could not bind and which flag moves it.
func bindError(door, addr string, err error) error {
	return fmt.Errorf("%s door: cannot listen on %s: %w; choose another address with %s", door, addr, err, doorFlag(door))
}

// maxConns caps a door's open connections, as shares of the process's
// file descriptor limit: an eighth for each door without credentials (the
// X-Ray daemon door, the UI), a quarter for each keyed door, so that
// connections to one door can never use up the descriptors and take the
// others (and /healthz) down. Connections past the cap wait in the
// kernel's accept queue.
func maxConns(door string) int {
	limit := fdLimit()
	switch door {
	case "http", "otlp-grpc":
		return max(64, limit/4)
	case "pprof":
		return 16
	}
	return max(64, limit/8)
}

func (a *App) listen(network, addr, door string) (net.Listener, error) {
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, bindError(door, addr, err)
	}
	ln = netutil.LimitListener(ln, maxConns(door))
	a.listeners = append(a.listeners, ln)
	a.logger.Info("listening", "door", door, "addr", ln.Addr().String())
	return ln, nil
}

// serve runs a bound door once Start has bound them all.
func (a *App) serve(door string, fn func() error) {
	a.serving = append(a.serving, func() {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			if err := fn(); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, grpc.ErrServerStopped) && !errors.Is(err, net.ErrClosed) {
				a.errc <- fmt.Errorf("%s door: %w", door, err)
			}
		}()
	})
}

// Wait blocks until ctx ends or a door fails.
func (a *App) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-a.errc:
		return err
	}
}

// Shutdown stops ingest, then the other doors, commits what was accepted
// and closes the store, in that order, within ctx. Safe to call twice.
//
// Ingest stops first: from the start every ingest request (OTLP over HTTP
// and gRPC, the Events API, X-Ray PutTraceSegments) is answered 503 with
// Retry-After (gRPC Unavailable) on doors that still serve, and the X-Ray
// UDP daemon stops reading. Ingest requests in flight get a grace period
// (doorGrace) to finish; those still running are then answered the same
// way (a client still sending its body may instead lose its connection; it
// was never acknowledged). Only then do the read doors stop, each giving
// its requests the same grace before closing what is still open. Nothing
// acknowledged is lost: every acknowledged request was committed.
func (a *App) Shutdown(ctx context.Context) error {
	a.shutdown.Do(func() {
		var mu sync.Mutex
		var errs []error
		var doors sync.WaitGroup
		stop := func(fn func(context.Context) error) {
			doors.Add(1)
			go func() {
				defer doors.Done()
				err := fn(ctx)
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}()
		}
		grace := a.doorGrace()
		a.logger.Info("stopping ingest; new ingest requests are answered 503 / Unavailable", "grace", grace)
		stop(func(ctx context.Context) error {
			defer close(a.ingestStopped)
			if n := a.gate.drain(ctx, grace); n > 0 {
				a.logger.Warn("answered ingest requests still running after the grace period 503 / Unavailable", "requests", n, "grace", grace)
			}
			a.logger.Info("ingest stopped; stopping the other doors")
			return nil
		})
		for _, s := range []struct {
			name string
			srv  *http.Server
		}{{"http", a.httpServer}, {"pprof", a.pprofServer}, {"ui", a.uiServer}} {
			if s.srv != nil {
				stop(a.stopHTTP(s.name, s.srv))
			}
		}
		for _, fn := range a.stoppers { // the X-Ray UDP daemon stops at once, its TCP door with the others
			stop(fn)
		}
		if a.grpcServer != nil {
			stop(func(ctx context.Context) error {
				select {
				case <-a.ingestStopped:
				case <-ctx.Done():
				}
				gctx, cancel := context.WithTimeout(ctx, grace)
				defer cancel()
				stopped := make(chan struct{})
				go func() { a.grpcServer.GracefulStop(); close(stopped) }()
				select {
				case <-stopped:
				case <-gctx.Done():
					a.logger.Warn("closing gRPC calls still running after the grace period", "door", "otlp-grpc")
					a.grpcServer.Stop()
				}
				return nil
			})
		}
		doors.Wait()
		for _, ln := range a.listeners { // bound by a Start that failed before serving
			_ = ln.Close() // the servers closed the others already
		}
		a.logger.Info("doors closed; committing accepted events")
		errs = append(errs, a.batcher.Close(ctx))
		errs = append(errs, a.stopForwarding(ctx)) // every acknowledged event is queued by now
		if a.cancel != nil {
			a.cancel()
		}
		a.wg.Wait()
		errs = append(errs, a.store.Close(), a.state.Close())
		a.shutErr = errors.Join(errs...)
		a.logger.Info("tracecomb stopped", "err", a.shutErr)
	})
	return a.shutErr
}

// Run starts tracecomb and serves until ctx ends, then shuts down.
func Run(ctx context.Context, cfg Config, logger *slog.Logger, out io.Writer) error {
	a, err := New(ctx, cfg, logger, out)
	if err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		return errors.Join(err, a.Shutdown(sctx))
	}
	waitErr := a.Wait(ctx)
	logger.Info("shutting down", "reason", reasonOf(ctx, waitErr))
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	return errors.Join(waitErr, a.Shutdown(sctx))
}

func reasonOf(ctx context.Context, err error) string {
	if err != nil {
		return err.Error()
	}
	return context.Cause(ctx).Error()
}

// healthHandler answers /healthz: 200 "ok" while the store can write, 503
// with the store's reason (a full disk, a database being reopened) while
// it cannot, so that a load balancer or an orchestrator stops sending
// telemetry that would only be refused.
func healthHandler(st interface{ Healthy(context.Context) error }) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := st.Healthy(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "unhealthy: %v\n", err)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
}
