// Command backend is the Cruddur backend API traced with OpenTelemetry and
// AWS X-Ray, configured by the lesson's environment variables (see
// examples/cruddur/README.md).
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/aws/aws-xray-sdk-go/xray"
	"go.opentelemetry.io/otel"

	"github.com/tracecomb/tracecomb/examples/cruddur/internal/backend"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("opentelemetry", "err", err)
	}))
	xray.SetLogger(backend.XRayLogger(logger.With()))

	cfg, err := backend.ConfigFromEnv(os.Getenv)
	if err != nil {
		logger.Error("bad configuration", "err", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := backend.Run(ctx, cfg, logger, nil); err != nil {
		logger.Error("cruddur backend failed", "err", err)
		os.Exit(1)
	}
}
