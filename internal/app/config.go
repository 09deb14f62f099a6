package app

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/ingest"
	"github.com/tracecomb/tracecomb/internal/ingest/otlp"
	"github.com/tracecomb/tracecomb/internal/ingest/xray"
	"github.com/tracecomb/tracecomb/internal/notify"
	"github.com/tracecomb/tracecomb/internal/upstream"
)

// Config is the root configuration of `tracecomb serve`: one struct, filled
// from flags, each flag also settable by the environment variable named in
// its help (flags win).
type Config struct {
	DataDir      string
	StateURL     string // shared PostgreSQL state (statestore.go); empty: state.db in DataDir
	BootstrapKey string

	OTLPGRPCAddr string // OTLP/gRPC
	HTTPAddr     string // OTLP/HTTP, Honeycomb API, X-Ray API, /metrics
	XRayAddr     string // X-Ray daemon door, UDP and TCP
	XRayEnv      string // environment the unauthenticated daemon door writes to
	AWSRegion    string // region in X-Ray ARNs (groups, sampling rules)
	// XRayIncludeOTel makes the X-Ray API read the OpenTelemetry data sent
	// to Honeycomb's doors too (tracecomb's own joined view); off, it shows
	// what AWS X-Ray would: only what was sent to X-Ray's doors.
	XRayIncludeOTel bool
	// XRayDoorSigV4 makes the daemon door require SigV4 (a key pair from
	// `tracecomb keys create --aws`) for every X-Ray API call but the SDKs'
	// sampling calls.
	XRayDoorSigV4 bool
	UIAddr        string
	PprofAddr     string // Go profiling door; empty (the default) disables it
	// MetricsPublic serves /metrics without a key (for a scraper that
	// cannot send one); off, it takes a configuration key.
	MetricsPublic bool

	LogLevel        string
	LogFormat       string
	ShutdownTimeout time.Duration

	// Ingest memory limits (docs/limits.md): MaxPendingEvents and
	// MaxPendingBytes bound the events accepted but not yet committed (by
	// count and by estimated bytes, including the requests being decoded
	// and the X-Ray daemon's queue); MaxDecompressBytes bounds the bytes
	// held by every request body being decompressed at once;
	// MaxDecodedBytes bounds one OTLP request's decoded events;
	// XRayQueueBytes bounds the X-Ray daemon's own queue;
	// XRayDatagramBytes its datagrams not yet decoded; XRaySocketBuffer is
	// the UDP receive buffer it asks the kernel for.
	MaxPendingEvents   int
	MaxPendingBytes    int64
	MaxDecompressBytes int64
	MaxDecodedBytes    int64
	XRayQueueBytes     int64
	XRayDatagramBytes  int64
	XRaySocketBuffer   int64
	// StoreMemoryLimit caps the embedded store's memory (DuckDB's
	// memory_limit: its buffer pool and query state; beyond it DuckDB
	// evicts pages and spills to disk).
	StoreMemoryLimit string
	// Store chooses the trace store: embedded DuckDB or ClickHouse
	// (storeopen.go).
	Store StoreConfig
	// QueryTimeout bounds one run of a Honeycomb query (/1/query_results):
	// past it the store stops the query and the API answers 504.
	// XRayQueryTimeout bounds one X-Ray trace read (GetTraceSummaries,
	// GetServiceGraph, BatchGetTraces, …): past it, ThrottledException.
	QueryTimeout, XRayQueryTimeout time.Duration
	// TriggerTick is how often the trigger evaluator looks for triggers
	// whose frequency has elapsed (internal/alerting).
	TriggerTick time.Duration
	// Notify is where alert notifications are sent (internal/notify).
	Notify NotifyConfig
	// Clock is the time the Query API and alerting read (time ranges of
	// queries, triggers and SLOs; when a trigger is due); nil is
	// time.Now. It has no flag: tests move it to run the scheduler on a
	// fake clock.
	Clock func() time.Time
	// StoreColumnDensity is the share of an environment's events a field
	// must be on to get its own column in the store (see
	// duckdb.Config.MinColumnDensity); negative: every field gets one.
	StoreColumnDensity float64
	// RetentionAge and RetentionSize are every environment's retention
	// unless the store holds an override for it: events older than
	// RetentionAge are deleted, and while an environment takes more than
	// RetentionSize bytes its oldest events are. Zero keeps everything.
	RetentionAge  time.Duration
	RetentionSize int64
	// RetentionCompactMaxLive is the most live data retention rewrites to
	// shrink the store's file (duckdb.Config.CompactMaxLive); past it the
	// space deletes free is reused but the file does not shrink.
	RetentionCompactMaxLive int64
	// MaxDatasetColumns and MaxEnvColumns cap the columns of a dataset and
	// of an environment; an event that would pass either is refused
	// (Honeycomb's "Dataset has too many columns.") and the rest of its
	// request is stored.
	MaxDatasetColumns, MaxEnvColumns int

	// Forwarding to the real services (docs/forwarding.md).
	// ForwardHoneycomb is the Events API's base URL what Honeycomb's doors
	// accept is sent to, with ForwardKey as X-Honeycomb-Team (one key for
	// every environment); empty disables it. ForwardXRay is the region
	// what X-Ray's doors accept is sent to with PutTraceSegments
	// (credentials from the AWS SDK's default chain), at
	// ForwardXRayEndpoint when set; empty disables it.
	// ForwardQueueMaxBytes bounds each target's queue on disk.
	ForwardHoneycomb, ForwardKey     string
	ForwardXRay, ForwardXRayEndpoint string
	ForwardQueueMaxBytes             int64
}

// NotifyConfig are the servers alert notifications go through: an SMTP
// server for email recipients, Slack's Web API with a bot token for
// Slack recipients, PagerDuty's Events API v2.
type NotifyConfig struct {
	SMTPAddr, SMTPFrom, SMTPUsername, SMTPPassword string
	SlackToken, SlackAPIURL, PagerDutyURL          string
}

// config is the notify.Config of these settings.
func (c NotifyConfig) config() notify.Config {
	return notify.Config{
		SMTP:        notify.SMTPConfig{Addr: c.SMTPAddr, From: c.SMTPFrom, Username: c.SMTPUsername, Password: c.SMTPPassword},
		SlackAPIURL: c.SlackAPIURL, SlackToken: c.SlackToken, PagerDutyURL: c.PagerDutyURL,
	}
}

// DefaultConfig returns the defaults: the doors on their well-known ports,
// every one on loopback; listening on other interfaces is a choice made by
// giving an address (e.g. --http-addr :4318).
func DefaultConfig() Config {
	return Config{
		DataDir:            "./tracecomb-data",
		OTLPGRPCAddr:       "127.0.0.1:4317",
		HTTPAddr:           "127.0.0.1:4318",
		XRayAddr:           "127.0.0.1:2000",
		XRayEnv:            "test",
		AWSRegion:          "us-east-1",
		UIAddr:             "127.0.0.1:8080",
		LogLevel:           "info",
		LogFormat:          "text",
		ShutdownTimeout:    30 * time.Second,
		MaxPendingEvents:   500_000,
		MaxPendingBytes:    ingest.DefaultMaxPendingBytes,
		MaxDecompressBytes: ingest.DefaultMaxDecompressBytes,
		MaxDecodedBytes:    otlp.DefaultMaxDecodedBytes,
		XRayQueueBytes:     xray.DefaultQueueBytes,
		XRayDatagramBytes:  xray.DefaultDatagramBytes,
		XRaySocketBuffer:   int64(xray.DefaultConfig().SocketBuffer),
		StoreMemoryLimit:   "256MB",
		QueryTimeout:       10 * time.Second,
		XRayQueryTimeout:   30 * time.Second,
		TriggerTick:        10 * time.Second,
		Notify: NotifyConfig{
			SlackAPIURL:  "https://slack.com/api",
			PagerDutyURL: "https://events.pagerduty.com/v2/enqueue",
		},
		StoreColumnDensity: 0.5,
		MaxDatasetColumns:  10_000,
		MaxEnvColumns:      100_000,
		// The rewrite holds the write lock while it copies (8–90 MB/s on
		// 2 cores, internal/store/duckdb's package comment).
		RetentionCompactMaxLive: 128 << 20,
		ForwardQueueMaxBytes:    upstream.DefaultMaxQueueBytes,
	}
}

// BindFlags registers every field on fs with its environment variable as
// default.
func (c *Config) BindFlags(fs *flag.FlagSet) {
	str := func(p *string, name, env, usage string) {
		if v, ok := os.LookupEnv(env); ok {
			*p = v
		}
		fs.StringVar(p, name, *p, usage+" (env "+env+")")
	}
	str(&c.DataDir, "data-dir", "TRACECOMB_DATA_DIR", "directory holding the store and the key registry")
	str(&c.BootstrapKey, "bootstrap-key", "TRACECOMB_BOOTSTRAP_KEY", "on first start, make this the first key of environment \"test\"")
	str(&c.OTLPGRPCAddr, "otlp-grpc-addr", "TRACECOMB_OTLP_GRPC_ADDR", "OTLP/gRPC listen address, loopback by default; :4317 for every interface (empty disables)")
	str(&c.HTTPAddr, "http-addr", "TRACECOMB_HTTP_ADDR", "OTLP/HTTP, Honeycomb and X-Ray API listen address, loopback by default; :4318 for every interface")
	str(&c.XRayAddr, "xray-addr", "TRACECOMB_XRAY_ADDR", "X-Ray daemon listen address, UDP segments and TCP API (empty disables)")
	str(&c.XRayEnv, "xray-env", "TRACECOMB_XRAY_ENV", "environment the X-Ray daemon door writes to and reads from")
	for _, env := range []string{"AWS_DEFAULT_REGION", "AWS_REGION"} { // the AWS CLI prefers AWS_REGION
		if v := os.Getenv(env); v != "" {
			c.AWSRegion = v
		}
	}
	str(&c.AWSRegion, "aws-region", "TRACECOMB_AWS_REGION", "region shown in X-Ray ARNs (default from AWS_REGION or AWS_DEFAULT_REGION, else us-east-1)")
	if v, ok := os.LookupEnv("TRACECOMB_XRAY_INCLUDE_OTEL"); ok {
		c.XRayIncludeOTel, _ = strconv.ParseBool(v)
	}
	fs.BoolVar(&c.XRayIncludeOTel, "xray-include-otel", c.XRayIncludeOTel,
		"the X-Ray API also reads the OpenTelemetry spans sent to the Honeycomb doors (one map of both; AWS X-Ray shows only what its own doors got) (env TRACECOMB_XRAY_INCLUDE_OTEL)")
	str(&c.UIAddr, "ui-addr", "TRACECOMB_UI_ADDR", "web UI listen address (empty disables)")
	str(&c.PprofAddr, "pprof-addr", "TRACECOMB_PPROF_ADDR", "Go pprof listen address, no auth: bind to loopback (empty, the default, disables)")
	if v, ok := os.LookupEnv("TRACECOMB_XRAY_DOOR_SIGV4"); ok {
		c.XRayDoorSigV4, _ = strconv.ParseBool(v)
	}
	fs.BoolVar(&c.XRayDoorSigV4, "xray-door-sigv4", c.XRayDoorSigV4,
		"the X-Ray daemon door requires SigV4-signed calls (key pairs from `tracecomb keys create --aws`), except the SDKs' sampling calls (env TRACECOMB_XRAY_DOOR_SIGV4)")
	if v, ok := os.LookupEnv("TRACECOMB_METRICS_PUBLIC"); ok {
		c.MetricsPublic, _ = strconv.ParseBool(v)
	}
	fs.BoolVar(&c.MetricsPublic, "metrics-public", c.MetricsPublic, "serve /metrics without a key (default: a configuration key is needed) (env TRACECOMB_METRICS_PUBLIC)")
	str(&c.StoreMemoryLimit, "store-memory-limit", "TRACECOMB_STORE_MEMORY_LIMIT", "memory cap of the embedded store, e.g. 256MB or 2GB (empty: 80% of RAM)")
	c.Store.bindFlags(fs)
	for _, d := range []struct {
		p               *time.Duration
		name, env, help string
	}{
		{&c.QueryTimeout, "query-timeout", "TRACECOMB_QUERY_TIMEOUT", "time budget of one Query API run (/1/query_results); past it the query is stopped and answered 504"},
		{&c.XRayQueryTimeout, "xray-query-timeout", "TRACECOMB_XRAY_QUERY_TIMEOUT", "time budget of one X-Ray trace read (GetTraceSummaries, GetServiceGraph, GetTraceGraph, BatchGetTraces, GetTimeSeriesServiceStatistics); past it the read is stopped and answered ThrottledException"},
		{&c.TriggerTick, "trigger-tick", "TRACECOMB_TRIGGER_TICK", "how often triggers whose frequency has elapsed are looked for and evaluated"},
	} {
		if v, ok := os.LookupEnv(d.env); ok {
			if v, err := time.ParseDuration(v); err == nil {
				*d.p = v
			}
		}
		fs.DurationVar(d.p, d.name, *d.p, d.help+" (env "+d.env+")")
	}
	str(&c.Notify.SMTPAddr, "smtp-addr", "TRACECOMB_SMTP_ADDR", "SMTP server (host:port) email recipients are sent through; port 465 is TLS, others use STARTTLS when offered (empty: email recipients are not notified)")
	str(&c.Notify.SMTPFrom, "smtp-from", "TRACECOMB_SMTP_FROM", "sender address of alert emails (default tracecomb@<host name>)")
	str(&c.Notify.SMTPUsername, "smtp-username", "TRACECOMB_SMTP_USERNAME", "SMTP user for AUTH PLAIN, sent only over TLS or to a loopback server (empty: no authentication)")
	// Secrets: an environment variable's value is not shown as the flag's
	// default in -h.
	secret := func(p *string, name, env, usage string) {
		fs.StringVar(p, name, "", usage+" (env "+env+")")
		if v, ok := os.LookupEnv(env); ok {
			*p = v
		}
	}
	secret(&c.StateURL, "state-url", "TRACECOMB_STATE_URL", stateURLUsage)
	secret(&c.Notify.SMTPPassword, "smtp-password", "TRACECOMB_SMTP_PASSWORD", "SMTP password; prefer the environment variable to the flag")
	secret(&c.Notify.SlackToken, "slack-token", "TRACECOMB_SLACK_TOKEN", "Slack bot token (xoxb-…, scope chat:write) Slack recipients are posted with; prefer the environment variable (empty: Slack recipients are not notified)")
	str(&c.Notify.SlackAPIURL, "slack-api-url", "TRACECOMB_SLACK_API_URL", "base URL of Slack's Web API")
	str(&c.Notify.PagerDutyURL, "pagerduty-url", "TRACECOMB_PAGERDUTY_URL", "PagerDuty Events API v2 endpoint PagerDuty recipients are sent to")
	str(&c.LogLevel, "log-level", "TRACECOMB_LOG_LEVEL", "debug, info, warn or error")
	str(&c.LogFormat, "log-format", "TRACECOMB_LOG_FORMAT", "text or json")
	if v, ok := os.LookupEnv("TRACECOMB_SHUTDOWN_TIMEOUT"); ok {
		if d, err := time.ParseDuration(v); err == nil {
			c.ShutdownTimeout = d
		}
	}
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long shutdown may take to flush (env TRACECOMB_SHUTDOWN_TIMEOUT)")
	if v, ok := os.LookupEnv("TRACECOMB_MAX_PENDING_EVENTS"); ok {
		if n, err := strconv.Atoi(v); err == nil {
			c.MaxPendingEvents = n
		}
	}
	fs.IntVar(&c.MaxPendingEvents, "max-pending-events", c.MaxPendingEvents, "events accepted but not yet committed before ingest answers 429 (env TRACECOMB_MAX_PENDING_EVENTS)")
	intVar := func(p *int, name, env, usage string) {
		if v, ok := os.LookupEnv(env); ok {
			if n, err := strconv.Atoi(v); err == nil {
				*p = n
			}
		}
		fs.IntVar(p, name, *p, usage+" (env "+env+")")
	}
	intVar(&c.MaxDatasetColumns, "max-dataset-columns", "TRACECOMB_MAX_DATASET_COLUMNS",
		"columns a dataset may have (Honeycomb's limit); an event that would add more is refused with \"Dataset has too many columns.\" and the rest of its request stored")
	intVar(&c.MaxEnvColumns, "max-env-columns", "TRACECOMB_MAX_ENV_COLUMNS",
		"columns all datasets of an environment may have together; past it, likewise")
	size := func(p *int64, name, env, usage string) {
		if v, ok := os.LookupEnv(env); ok {
			if n, err := parseByteSize(v); err == nil {
				*p = n
			}
		}
		fs.Var((*byteSize)(p), name, usage+", in bytes or with a unit (256MiB, 1GB) (env "+env+")")
	}
	size(&c.MaxPendingBytes, "max-pending-bytes", "TRACECOMB_MAX_PENDING_BYTES",
		"memory of the events accepted but not yet committed, of the requests being decoded and of the X-Ray daemon's queue, before ingest answers 429 and the daemon drops segments")
	size(&c.MaxDecompressBytes, "max-decompress-bytes", "TRACECOMB_MAX_DECOMPRESS_BYTES",
		"memory that every request body being decompressed may hold together; a request that cannot get its share within 2 s gets 503 with Retry-After")
	size(&c.MaxDecodedBytes, "max-decoded-bytes", "TRACECOMB_MAX_DECODED_BYTES",
		"memory the events decoded from one OTLP request may take (resource attributes count once per span); beyond it the request gets 413")
	size(&c.XRayQueueBytes, "xray-queue-bytes", "TRACECOMB_XRAY_QUEUE_BYTES",
		"memory of the X-Ray daemon's decoded segments not yet stored; beyond it datagrams wait undecoded (--xray-datagram-bytes), then are dropped and counted")
	size(&c.XRayDatagramBytes, "xray-datagram-bytes", "TRACECOMB_XRAY_DATAGRAM_BYTES",
		"memory of the X-Ray daemon's datagrams received and not yet decoded; beyond it datagrams are dropped and counted")
	size(&c.XRaySocketBuffer, "xray-socket-buffer", "TRACECOMB_XRAY_SOCKET_BUFFER",
		"UDP receive buffer the X-Ray daemon asks the kernel for (Linux grants at most net.core.rmem_max without CAP_NET_ADMIN); datagrams that overflow it are dropped by the kernel and counted")
	if v, ok := os.LookupEnv("TRACECOMB_STORE_COLUMN_DENSITY"); ok {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			c.StoreColumnDensity = f
		}
	}
	fs.Float64Var(&c.StoreColumnDensity, "store-column-density", c.StoreColumnDensity,
		"share of events a field must be on to get its own column (faster queries on it); rarer fields share compact lists; -1: a column for every field (env TRACECOMB_STORE_COLUMN_DENSITY)")
	if v, ok := os.LookupEnv("TRACECOMB_RETENTION_AGE"); ok {
		if d, err := time.ParseDuration(v); err == nil {
			c.RetentionAge = d
		}
	}
	fs.DurationVar(&c.RetentionAge, "retention-age", c.RetentionAge,
		"delete events older than this (by their time), checked every minute, e.g. 168h; 0 keeps them; an environment's own setting overrides it (env TRACECOMB_RETENTION_AGE)")
	size(&c.RetentionSize, "retention-size", "TRACECOMB_RETENTION_SIZE",
		"disk space each environment's events may take; past it its oldest events are deleted, checked every minute; 0: no limit; an environment's own setting overrides it")
	size(&c.RetentionCompactMaxLive, "retention-compact-max-live", "TRACECOMB_RETENTION_COMPACT_MAX_LIVE",
		"the most live data retention rewrites to shrink the store's file once deletes freed most of it; writes wait during the rewrite; past it the freed space is reused but the file does not shrink")
	str(&c.ForwardHoneycomb, "forward-honeycomb", "TRACECOMB_FORWARD_HONEYCOMB",
		"also send what Honeycomb's doors accept (OTLP with a Honeycomb key, the Events API) to this Events API, e.g. https://api.honeycomb.io, with --forward-key (empty disables)")
	secret(&c.ForwardKey, "forward-key", "TRACECOMB_FORWARD_KEY", "Honeycomb API key (ingest) --forward-honeycomb sends with, for every environment; prefer the environment variable")
	str(&c.ForwardXRay, "forward-xray", "TRACECOMB_FORWARD_XRAY",
		"also send what X-Ray's doors accept (daemon segments, PutTraceSegments, the SigV4 OTLP endpoint) to AWS X-Ray in this region, with the AWS SDK's default credentials (empty disables)")
	str(&c.ForwardXRayEndpoint, "forward-xray-endpoint", "TRACECOMB_FORWARD_XRAY_ENDPOINT", "X-Ray endpoint URL --forward-xray sends to instead of the region's (a VPC endpoint)")
	size(&c.ForwardQueueMaxBytes, "forward-queue-max-bytes", "TRACECOMB_FORWARD_QUEUE_MAX_BYTES",
		"disk each forward target's queue may take; when full its oldest events are dropped and counted")
}

// minBootstrapKey is the shortest --bootstrap-key accepted.
const minBootstrapKey = 16

// Validate fails fast on a configuration that cannot work.
func (c *Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data-dir must not be empty"))
	}
	if c.HTTPAddr == "" {
		errs = append(errs, errors.New("--http-addr must not be empty"))
	}
	if c.StoreColumnDensity == 0 || c.StoreColumnDensity > 1 {
		errs = append(errs, fmt.Errorf("--store-column-density must be in (0, 1], or negative for a column per field; got %v", c.StoreColumnDensity))
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format %q: want text or json", c.LogFormat))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("--shutdown-timeout must be positive"))
	}
	if c.QueryTimeout <= 0 || c.XRayQueryTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--query-timeout and --xray-query-timeout must be positive; got %v and %v", c.QueryTimeout, c.XRayQueryTimeout))
	}
	if c.TriggerTick <= 0 {
		errs = append(errs, fmt.Errorf("--trigger-tick must be positive; got %v", c.TriggerTick))
	}
	for _, n := range []struct {
		flag string
		cfg  notify.Config
	}{
		{"--smtp-addr", notify.Config{SMTP: notify.SMTPConfig{Addr: c.Notify.SMTPAddr}}},
		{"--smtp-from", notify.Config{SMTP: notify.SMTPConfig{Addr: "localhost:25", From: c.Notify.SMTPFrom}}},
		{"--slack-api-url", notify.Config{SlackAPIURL: c.Notify.SlackAPIURL}},
		{"--pagerduty-url", notify.Config{PagerDutyURL: c.Notify.PagerDutyURL}},
	} {
		if _, err := notify.New(n.cfg); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", n.flag, err))
		}
	}
	if k := strings.TrimSpace(c.BootstrapKey); k != "" && len(k) < minBootstrapKey {
		errs = append(errs, fmt.Errorf("--bootstrap-key must be at least %d characters (a guessable key would open the environment to anyone who can reach a door)", minBootstrapKey))
	}
	if c.XRayEnv == "" {
		errs = append(errs, errors.New("--xray-env must not be empty"))
	}
	if c.MaxPendingEvents <= 0 {
		errs = append(errs, errors.New("--max-pending-events must be positive"))
	}
	if c.MaxDatasetColumns <= 0 || c.MaxEnvColumns <= 0 {
		errs = append(errs, fmt.Errorf("--max-dataset-columns and --max-env-columns must be positive; got %d and %d", c.MaxDatasetColumns, c.MaxEnvColumns))
	}
	if c.RetentionAge < 0 || c.RetentionSize < 0 {
		errs = append(errs, fmt.Errorf("--retention-age and --retention-size must not be negative; got %v and %d", c.RetentionAge, c.RetentionSize))
	}
	for _, l := range []struct {
		name string
		v    int64
	}{{"--retention-compact-max-live", c.RetentionCompactMaxLive}, {"--max-pending-bytes", c.MaxPendingBytes}, {"--max-decompress-bytes", c.MaxDecompressBytes}, {"--max-decoded-bytes", c.MaxDecodedBytes}, {"--xray-queue-bytes", c.XRayQueueBytes}, {"--xray-datagram-bytes", c.XRayDatagramBytes}, {"--xray-socket-buffer", c.XRaySocketBuffer}} {
		if l.v <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %d", l.name, l.v))
		}
	}
	if err := validateStateURL(c.StateURL); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.Store.validate()...)
	errs = append(errs, c.validateForward()...)
	return errors.Join(errs...)
}

// validateForward checks the forwarding flags.
func (c *Config) validateForward() []error {
	var errs []error
	if c.ForwardHoneycomb != "" {
		u, err := url.Parse(c.ForwardHoneycomb)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--forward-honeycomb %q: want the Events API's URL, e.g. https://api.honeycomb.io", c.ForwardHoneycomb))
		}
		if strings.TrimSpace(c.ForwardKey) == "" {
			errs = append(errs, errors.New("--forward-honeycomb needs --forward-key (or TRACECOMB_FORWARD_KEY)"))
		}
	}
	if c.ForwardXRayEndpoint != "" {
		u, err := url.Parse(c.ForwardXRayEndpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--forward-xray-endpoint %q: want a URL, e.g. https://vpce-….xray.us-east-1.vpce.amazonaws.com", c.ForwardXRayEndpoint))
		}
		if c.ForwardXRay == "" {
			errs = append(errs, errors.New("--forward-xray-endpoint needs --forward-xray (the region to sign for)"))
		}
	}
	if minQ := int64(upstream.MinMaxQueueBytes); (c.ForwardHoneycomb != "" || c.ForwardXRay != "") && c.ForwardQueueMaxBytes < minQ {
		errs = append(errs, fmt.Errorf("--forward-queue-max-bytes must be at least %d (twice the largest event); got %d", minQ, c.ForwardQueueMaxBytes))
	}
	return errs
}

// byteSize is a flag of a number of bytes, written plainly or with a unit.
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Set(s string) error {
	n, err := parseByteSize(s)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

// parseByteSize reads 1048576, 1MiB, 1MB, 512KiB, 2GiB, 2GB (units are
// not case-sensitive; KB, MB, GB are powers of 1000, KiB, MiB, GiB of 1024).
func parseByteSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"b", 1}} {
		if len(t) > len(u.suffix) && strings.EqualFold(t[len(t)-len(u.suffix):], u.suffix) {
			t, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is not a size in bytes (e.g. 268435456, 256MiB, 1GB)", s)
	}
	return n * mult, nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// NewLogger builds the process logger from the config.
func (c *Config) NewLogger(w *os.File) *slog.Logger {
	level, _ := parseLevel(c.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
