package backend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Run serves the backend on cfg.Addr until ctx is done, then shuts the
// server down and flushes the spans still batched, within
// cfg.ShutdownTimeout. ready, when not nil, receives the bound address.
func Run(ctx context.Context, cfg Config, logger *slog.Logger, ready func(net.Addr)) error {
	tel, flush, err := SetupTelemetry(ctx, cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		_ = flush(context.Background())
		return fmt.Errorf("cannot listen on %s: %w", cfg.Addr, err)
	}
	upstream := UpstreamURL(cfg.UpstreamURL, ln.Addr())
	srv := NewServer(cfg, logger, tel, upstream)
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("cruddur backend listening", "addr", ln.Addr().String(), "otel_service", cfg.OTelServiceName,
		"xray_service", cfg.XRayServiceName, "xray_url", cfg.XRayURL, "xray_daemon", cfg.XRayDaemonAddr,
		"share_trace_id", cfg.ShareTraceID, "upstream", upstream)
	if ready != nil {
		ready(ln.Addr())
	}

	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	logger.Info("cruddur backend shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	shutErr := hs.Shutdown(sctx)
	srv.Close()
	if serveErr == nil {
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			serveErr = err
		}
	} else if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	flushErr := flush(sctx)
	if flushErr != nil {
		flushErr = fmt.Errorf("flushing spans: %w", flushErr)
	}
	logger.Info("cruddur backend stopped")
	return errors.Join(serveErr, shutErr, flushErr)
}

// UpstreamURL resolves the home feed's outgoing call: configured ("off"
// for none) or this server's own /api/health on the loopback interface.
func UpstreamURL(configured string, addr net.Addr) string {
	switch configured {
	case "off":
		return ""
	case "":
	default:
		return configured
	}
	port := "4567"
	if ta, ok := addr.(*net.TCPAddr); ok {
		port = fmt.Sprint(ta.Port)
	}
	return "http://" + net.JoinHostPort("127.0.0.1", port) + "/api/health"
}
