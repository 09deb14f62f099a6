// Command tracecomb is a Honeycomb-compatible OTLP endpoint and a drop-in
// AWS X-Ray daemon and API over one trace store. See `tracecomb help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/tracecomb/tracecomb/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
