package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/tracecomb/tracecomb/internal/forwarder"
)

const daemonUsage = `tracecomb daemon: a stand-alone X-Ray daemon that forwards to a tracecomb server.

Takes the real daemon's flags: -b/--bind UDP address, -t/--bind-tcp TCP address,
-c/--config YAML file (with Endpoint: http://tracecomb-host:2000 or :4318),
-n/--region, -o/--local-mode, -l/--log-level, -f/--log-file, -m/--buffer-memory,
-a/--resource-arn, -r/--role-arn, -p/--proxy-address, -v, -h.
Segments go to the server with PutTraceSegments in batches of 50; sampling
calls on the TCP port are passed through. When AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY are set (a pair from 'tracecomb keys create --aws'), calls
are SigV4-signed for the server's API door; otherwise they go unsigned, as the
server's daemon door takes them.
`

// daemonCmd runs `tracecomb daemon`.
func daemonCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := forwarder.ParseArgs(args, os.Getenv, os.ReadFile)
	if err != nil {
		return usageError{err}
	}
	if cfg.ShowHelp {
		fmt.Fprint(stdout, daemonUsage)
		return nil
	}
	if cfg.ShowVersion {
		fmt.Fprintln(stdout, "tracecomb daemon", Version)
		return nil
	}
	if cfg.Endpoint == "" {
		return usageError{errors.New("daemon: no Endpoint: set it in the config file (-c), as for the X-Ray daemon")}
	}
	logOut := stderr
	if cfg.LogFile != "" {
		f, err := os.OpenFile(cfg.LogFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("daemon: cannot open log file: %w", err)
		}
		defer f.Close()
		logOut = f
	}
	logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: cfg.SlogLevel()}))
	var creds aws.CredentialsProvider
	if id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		creds = credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN"))
	}
	httpClient := cfg.HTTPClient()
	f, err := forwarder.New(cfg, cfg.NewXRayClient(httpClient, creds), httpClient, forwarder.Settings{Logger: logger})
	if err != nil {
		return err
	}
	if err := f.Start(ctx); err != nil {
		return err
	}
	logger.Info("tracecomb daemon started", "udp", f.UDPAddr().String(), "tcp", f.TCPAddr().String(), "endpoint", cfg.Endpoint)
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return f.Shutdown(sctx)
}
