// Command loadgen drives the Cruddur API at a given rate and concurrency for
// a duration and prints what it sent: requests by route and status, and
// latency percentiles.
//
//	loadgen -url http://127.0.0.1:4567 -rate 100 -concurrency 8 -duration 30s
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/tracecomb/tracecomb/examples/cruddur/internal/loadgen"
)

func main() {
	cfg := loadgen.DefaultConfig()
	flag.StringVar(&cfg.BaseURL, "url", cfg.BaseURL, "base URL of the Cruddur backend")
	flag.Float64Var(&cfg.Rate, "rate", cfg.Rate, "requests per second (0: closed loop, as fast as the workers go)")
	flag.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "workers (requests in flight at most)")
	flag.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long to run (0: until -requests are sent)")
	flag.IntVar(&cfg.Requests, "requests", 0, "stop after this many requests (0: no limit)")
	flag.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "per-request timeout")
	origin := flag.String("origin", "", "Origin header to send (e.g. the FRONTEND_URL)")
	asJSON := flag.Bool("json", false, "print the report as JSON")
	flag.Parse()
	if *origin != "" {
		cfg.Header = http.Header{"Origin": {*origin}}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := loadgen.Run(ctx, cfg, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	if *asJSON {
		if err := rep.WriteJSON(os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		return
	}
	rep.WriteText(os.Stdout)
}
