package forwarder

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	xraysvc "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	xrayingest "github.com/tracecomb/tracecomb/internal/ingest/xray"
)

// DefaultConfigPaths are where the X-Ray daemon looks for its config file
// when -c is not given, in order.
var DefaultConfigPaths = []string{"/etc/amazon/xray/cfg.yaml", "cfg.yaml"}

// Config configures a Forwarder. The fields carry the X-Ray
// daemon's flags and YAML keys (noted beside each).
type Config struct {
	UDPAddress     string // -b, --bind; Socket.UDPAddress (127.0.0.1:2000)
	TCPAddress     string // -t, --bind-tcp; Socket.TCPAddress (127.0.0.1:2000)
	Endpoint       string // Endpoint (config file only, as for the X-Ray daemon): the tracecomb server's X-Ray API, e.g. http://tracecomb:2000
	Region         string // -n, --region; Region (AWS_REGION, else us-east-1)
	LocalMode      bool   // -o, --local-mode; LocalMode
	LogLevel       string // -l, --log-level; Logging.LogLevel: dev, debug, info, warn, error, prod (prod)
	LogFile        string // -f, --log-file; Logging.LogPath
	ResourceARN    string // -a, --resource-arn; ResourceARN
	RoleARN        string // -r, --role-arn; RoleARN (accepted; tracecomb needs no role)
	ProxyAddress   string // -p, --proxy-address; ProxyAddress: an HTTP proxy for calls to Endpoint
	BufferMemoryMB int    // -m, --buffer-memory; TotalBufferSizeMB (0: default; else ≥3)
	Concurrency    int    // Concurrency: parallel PutTraceSegments calls (8)
	NoVerifySSL    bool   // NoVerifySSL
	ConfigFile     string // -c, --config
	ShowVersion    bool   // -v, --version
	ShowHelp       bool   // -h, --help
}

// DefaultConfig returns the X-Ray daemon's defaults.
func DefaultConfig() Config {
	return Config{
		UDPAddress:  "127.0.0.1:2000",
		TCPAddress:  "127.0.0.1:2000",
		Region:      "us-east-1",
		LogLevel:    "prod",
		Concurrency: 8,
	}
}

// daemonYAML is the X-Ray daemon's config file. Unknown keys are errors, as
// they are for the X-Ray daemon.
type daemonYAML struct {
	TotalBufferSizeMB *int    `yaml:"TotalBufferSizeMB"`
	Concurrency       *int    `yaml:"Concurrency"`
	Region            *string `yaml:"Region"`
	Socket            *struct {
		UDPAddress *string `yaml:"UDPAddress"`
		TCPAddress *string `yaml:"TCPAddress"`
	} `yaml:"Socket"`
	Logging *struct {
		LogRotation *bool   `yaml:"LogRotation"`
		LogLevel    *string `yaml:"LogLevel"`
		LogPath     *string `yaml:"LogPath"`
	} `yaml:"Logging"`
	LocalMode    *bool   `yaml:"LocalMode"`
	ResourceARN  *string `yaml:"ResourceARN"`
	RoleARN      *string `yaml:"RoleARN"`
	Endpoint     *string `yaml:"Endpoint"`
	NoVerifySSL  *bool   `yaml:"NoVerifySSL"`
	ProxyAddress *string `yaml:"ProxyAddress"`
	Version      *int    `yaml:"Version"`
}

// ParseArgs builds the configuration as the X-Ray daemon does:
// defaults, then AWS_REGION from env, then the config file (-c, else the
// first of DefaultConfigPaths that exists), then the flags. readFile reads
// the config file (os.ReadFile in a program); env looks up environment
// variables (os.Getenv). Flags are accepted with one or two dashes.
func ParseArgs(args []string, env func(string) string, readFile func(string) ([]byte, error)) (Config, error) {
	cfg := DefaultConfig()
	fset := flag.NewFlagSet("tracecomb daemon", flag.ContinueOnError)
	fset.SetOutput(io.Discard)
	var f Config
	str := func(p *string, short, long, usage string) {
		fset.StringVar(p, short, "", usage)
		fset.StringVar(p, long, "", usage)
	}
	boolean := func(p *bool, short, long, usage string) {
		fset.BoolVar(p, short, false, usage)
		fset.BoolVar(p, long, false, usage)
	}
	str(&f.UDPAddress, "b", "bind", "UDP address to receive segments on")
	str(&f.TCPAddress, "t", "bind-tcp", "TCP address to proxy sampling and API calls on")
	str(&f.ConfigFile, "c", "config", "YAML config file")
	str(&f.Region, "n", "region", "region")
	str(&f.LogLevel, "l", "log-level", "dev, debug, info, warn, error or prod")
	str(&f.LogFile, "f", "log-file", "log file")
	str(&f.ResourceARN, "a", "resource-arn", "resource ARN")
	str(&f.RoleARN, "r", "role-arn", "role ARN")
	str(&f.ProxyAddress, "p", "proxy-address", "HTTP proxy for calls to the endpoint")
	fset.IntVar(&f.BufferMemoryMB, "m", 0, "buffer memory in MB (≥3)")
	fset.IntVar(&f.BufferMemoryMB, "buffer-memory", 0, "buffer memory in MB (≥3)")
	boolean(&f.LocalMode, "o", "local-mode", "do not read EC2 instance metadata")
	boolean(&f.ShowVersion, "v", "version", "print the version")
	boolean(&f.ShowHelp, "h", "help", "print the usage")
	if err := fset.Parse(args); err != nil {
		return cfg, fmt.Errorf("tracecomb daemon: %w", err)
	}
	if fset.NArg() > 0 {
		return cfg, fmt.Errorf("tracecomb daemon: unexpected argument %q", fset.Arg(0))
	}
	if env != nil {
		if r := env("AWS_REGION"); r != "" {
			cfg.Region = r
		}
	}

	path := f.ConfigFile
	var data []byte
	if path != "" {
		b, err := readFile(path)
		if err != nil {
			return cfg, fmt.Errorf("tracecomb daemon: config file: %w", err)
		}
		data = b
	} else if readFile != nil {
		for _, p := range DefaultConfigPaths {
			b, err := readFile(p)
			if err == nil {
				path, data = p, b
				break
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return cfg, fmt.Errorf("tracecomb daemon: config file %s: %w", p, err)
			}
		}
	}
	if data != nil {
		if err := applyYAML(&cfg, data); err != nil {
			return cfg, fmt.Errorf("tracecomb daemon: config file %s: %w", path, err)
		}
	}
	cfg.ConfigFile = path

	fset.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "b", "bind":
			cfg.UDPAddress = f.UDPAddress
		case "t", "bind-tcp":
			cfg.TCPAddress = f.TCPAddress
		case "n", "region":
			cfg.Region = f.Region
		case "l", "log-level":
			cfg.LogLevel = f.LogLevel
		case "f", "log-file":
			cfg.LogFile = f.LogFile
		case "a", "resource-arn":
			cfg.ResourceARN = f.ResourceARN
		case "r", "role-arn":
			cfg.RoleARN = f.RoleARN
		case "p", "proxy-address":
			cfg.ProxyAddress = f.ProxyAddress
		case "m", "buffer-memory":
			cfg.BufferMemoryMB = f.BufferMemoryMB
		case "o", "local-mode":
			cfg.LocalMode = f.LocalMode
		case "v", "version":
			cfg.ShowVersion = f.ShowVersion
		case "h", "help":
			cfg.ShowHelp = f.ShowHelp
		}
	})
	if cfg.ShowVersion || cfg.ShowHelp {
		return cfg, nil
	}
	return cfg, cfg.Validate()
}

func applyYAML(cfg *Config, data []byte) error {
	var y daemonYAML
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&y); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if y.Version != nil && *y.Version != 1 && *y.Version != 2 {
		return fmt.Errorf("config key Version %d: want 1 or 2", *y.Version)
	}
	setStr := func(dst *string, v *string) {
		if v != nil && *v != "" {
			*dst = *v
		}
	}
	setStr(&cfg.Region, y.Region)
	setStr(&cfg.Endpoint, y.Endpoint)
	setStr(&cfg.ResourceARN, y.ResourceARN)
	setStr(&cfg.RoleARN, y.RoleARN)
	setStr(&cfg.ProxyAddress, y.ProxyAddress)
	if y.Socket != nil {
		setStr(&cfg.UDPAddress, y.Socket.UDPAddress)
		setStr(&cfg.TCPAddress, y.Socket.TCPAddress)
	}
	if y.Logging != nil {
		setStr(&cfg.LogLevel, y.Logging.LogLevel)
		setStr(&cfg.LogFile, y.Logging.LogPath)
	}
	if y.TotalBufferSizeMB != nil {
		cfg.BufferMemoryMB = *y.TotalBufferSizeMB
	}
	if y.Concurrency != nil {
		cfg.Concurrency = *y.Concurrency
	}
	if y.LocalMode != nil {
		cfg.LocalMode = *y.LocalMode
	}
	if y.NoVerifySSL != nil {
		cfg.NoVerifySSL = *y.NoVerifySSL
	}
	return nil
}

// Validate reports a configuration the forwarder cannot run with.
func (c Config) Validate() error {
	var errs []error
	if c.Endpoint == "" {
		errs = append(errs, errors.New("no Endpoint is set: put the tracecomb server's address in the config file (Endpoint: http://host:2000)"))
	} else if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("endpoint %q: want http(s)://host[:port]", c.Endpoint))
	}
	for _, a := range []struct{ name, v string }{{"UDP address", c.UDPAddress}, {"TCP address", c.TCPAddress}} {
		if _, _, err := net.SplitHostPort(a.v); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", a.name, a.v, err))
		}
	}
	if c.ProxyAddress != "" {
		if u, err := url.Parse(c.ProxyAddress); err != nil || u.Host == "" {
			errs = append(errs, fmt.Errorf("proxy address %q: want a URL", c.ProxyAddress))
		}
	}
	if _, ok := logLevels[c.LogLevel]; !ok {
		errs = append(errs, fmt.Errorf("log level %q: want dev, debug, info, warn, error or prod", c.LogLevel))
	}
	if c.BufferMemoryMB != 0 && c.BufferMemoryMB < 3 {
		errs = append(errs, fmt.Errorf("buffer memory %d MB: the minimum is 3", c.BufferMemoryMB))
	}
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("concurrency %d: want at least 1", c.Concurrency))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("tracecomb daemon: %w", err)
	}
	return nil
}

var logLevels = map[string]slog.Level{
	"dev": slog.LevelDebug, "debug": slog.LevelDebug, "info": slog.LevelInfo,
	"warn": slog.LevelWarn, "error": slog.LevelError, "prod": slog.LevelInfo,
}

// SlogLevel maps the X-Ray daemon's log level to slog's.
func (c Config) SlogLevel() slog.Level { return logLevels[c.LogLevel] }

// bufferDocuments is the number of documents the forwarder holds, from the
// buffer memory as the X-Ray daemon sizes its buffers (one per 64 KiB, at
// least 250).
func (c Config) bufferDocuments() int {
	mb := c.BufferMemoryMB
	if mb == 0 {
		mb = 16
	}
	return max(250, mb<<20/xrayingest.ReadBufferSize)
}

// HTTPClient returns the client for calls to Endpoint, honouring
// ProxyAddress and NoVerifySSL.
func (c Config) HTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if c.ProxyAddress != "" {
		if u, err := url.Parse(c.ProxyAddress); err == nil {
			t.Proxy = http.ProxyURL(u)
		}
	}
	if c.NoVerifySSL {
		t.TLSClientConfig.InsecureSkipVerify = true
	}
	return &http.Client{Transport: t}
}

// NewXRayClient returns an X-Ray API client for Endpoint. Calls are signed
// with creds when it is not nil (the API door's keys), and unsigned
// otherwise, as the daemon port of a tracecomb server takes them.
func (c Config) NewXRayClient(httpClient *http.Client, creds aws.CredentialsProvider) *xraysvc.Client {
	if creds == nil {
		creds = aws.AnonymousCredentials{}
	}
	return xraysvc.New(xraysvc.Options{
		Region:           c.Region,
		BaseEndpoint:     aws.String(c.Endpoint),
		Credentials:      creds,
		HTTPClient:       httpClient,
		RetryMaxAttempts: 1, // the X-Ray daemon does not retry
	})
}

// Settings are what the program, not the user, gives a Forwarder.
type Settings struct {
	Logger     *slog.Logger          // nil: discard
	Registerer prometheus.Registerer // nil: metrics are kept but not exported
}

// SegmentPutter sends segment documents; *xraysvc.Client is one.
type SegmentPutter interface {
	PutTraceSegments(ctx context.Context, in *xraysvc.PutTraceSegmentsInput, optFns ...func(*xraysvc.Options)) (*xraysvc.PutTraceSegmentsOutput, error)
}

// Limits of the forwarder's upload path, as the X-Ray daemon has them.
const (
	forwardBatchSize    = 50              // documents per PutTraceSegments call
	forwardIdleFlush    = time.Second     // a partial batch is sent after this long without new documents
	forwardQueueBatches = 20              // batches waiting for an uploader
	forwardCallTimeout  = 2 * time.Second // one PutTraceSegments call
)

// proxyTimeouts bound what one client of the TCP port can hold, as on the
// server's doors: request headers within ReadHeader, a whole request within
// Read, its answer within Write, and an idle keep-alive connection is
// closed after Idle.
type proxyTimeouts struct {
	ReadHeader, Read, Write, Idle time.Duration
}

var defaultProxyTimeouts = proxyTimeouts{ReadHeader: 10 * time.Second, Read: 2 * time.Minute, Write: 2 * time.Minute, Idle: 2 * time.Minute}

// Forwarder is the stand-alone daemon: it receives datagrams on UDP, checks
// their header line, and sends the documents (unvalidated, as the X-Ray
// daemon does) to a tracecomb server with PutTraceSegments; its TCP port
// proxies every request (the SDKs' GetSamplingRules and SamplingTargets
// calls, and any X-Ray API call) to the same server.
type Forwarder struct {
	cfg    Config
	put    SegmentPutter
	proxy  http.Handler
	log    *slog.Logger
	m      *forwardMetrics
	limit  *xrayingest.LogLimiter
	docs   chan string
	batch  chan []string
	mu     sync.Mutex
	state  int
	udp    net.PacketConn
	tcp    net.Listener
	srv    *http.Server
	wg     sync.WaitGroup // readers
	upWG   sync.WaitGroup // batcher and uploaders
	ctx    context.Context
	cancel context.CancelFunc

	// flushIdle is forwardIdleFlush; tests shorten it.
	flushIdle time.Duration
	// timeouts is defaultProxyTimeouts; tests shorten it.
	timeouts proxyTimeouts
}

type forwardMetrics struct {
	received, sent, unprocessed prometheus.Counter
	rejected, dropped           *prometheus.CounterVec
}

// New checks cfg and prepares a forwarder that sends segments with
// put and proxies TCP requests with httpClient (nil: cfg.HTTPClient()).
func New(cfg Config, put SegmentPutter, httpClient *http.Client, set Settings) (*Forwarder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if put == nil {
		return nil, errors.New("tracecomb daemon: nil segment putter")
	}
	if httpClient == nil {
		httpClient = cfg.HTTPClient()
	}
	target, _ := url.Parse(cfg.Endpoint)
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = target.Host
		},
		Transport: httpClient.Transport,
	}
	log := set.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rp.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	m := &forwardMetrics{
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracecomb_xray_forward_segments_received_total", Help: "Datagrams received by the stand-alone daemon."}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracecomb_xray_forward_segments_sent_total", Help: "Segment documents the server accepted."}),
		unprocessed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracecomb_xray_forward_segments_unprocessed_total", Help: "Segment documents the server rejected."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracecomb_xray_forward_segments_rejected_total", Help: "Datagrams dropped for a bad header or an empty body."}, []string{"reason"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracecomb_xray_forward_segments_dropped_total", Help: "Segment documents lost: buffer full or the call failed."}, []string{"reason"}),
	}
	if set.Registerer != nil {
		for _, c := range []prometheus.Collector{m.received, m.sent, m.unprocessed, m.rejected, m.dropped} {
			if err := set.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("tracecomb daemon: metrics: %w", err)
			}
		}
	}
	return &Forwarder{
		cfg:       cfg,
		put:       put,
		proxy:     stripConnection(rp),
		log:       log,
		m:         m,
		limit:     &xrayingest.LogLimiter{Every: time.Second},
		docs:      make(chan string, cfg.bufferDocuments()),
		batch:     make(chan []string, forwardQueueBatches),
		flushIdle: forwardIdleFlush,
		timeouts:  defaultProxyTimeouts,
	}, nil
}

// stripConnection drops the Connection header, as the X-Ray daemon's proxy does.
func stripConnection(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Del("Connection")
		h.ServeHTTP(w, r)
	})
}

// Start binds the UDP and TCP addresses and starts forwarding.
func (f *Forwarder) Start(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.state != 0 {
		return errors.New("tracecomb daemon: already started")
	}
	var lc net.ListenConfig
	udp, err := lc.ListenPacket(ctx, "udp", f.cfg.UDPAddress)
	if err != nil {
		return fmt.Errorf("tracecomb daemon: listen udp %s: %w", f.cfg.UDPAddress, err)
	}
	tcp, err := lc.Listen(ctx, "tcp", f.cfg.TCPAddress)
	if err != nil {
		udp.Close()
		return fmt.Errorf("tracecomb daemon: listen tcp %s: %w", f.cfg.TCPAddress, err)
	}
	f.udp, f.tcp, f.state = udp, tcp, 1
	f.ctx, f.cancel = context.WithCancel(context.WithoutCancel(ctx))
	f.srv = &http.Server{
		Handler:           f.proxy,
		ReadHeaderTimeout: f.timeouts.ReadHeader,
		ReadTimeout:       f.timeouts.Read,
		WriteTimeout:      f.timeouts.Write,
		IdleTimeout:       f.timeouts.Idle,
		ErrorLog:          slog.NewLogLogger(f.log.Handler(), slog.LevelWarn),
	}
	go func() { _ = f.srv.Serve(tcp) }()
	for range 2 {
		f.wg.Add(1)
		go f.read()
	}
	f.upWG.Add(1 + f.cfg.Concurrency)
	go f.batcher()
	for range f.cfg.Concurrency {
		go f.uploader()
	}
	f.log.Info("tracecomb daemon forwarding", "udp", udp.LocalAddr().String(), "tcp", tcp.Addr().String(), "endpoint", f.cfg.Endpoint)
	return nil
}

// UDPAddr and TCPAddr return the bound addresses, or nil before Start.
func (f *Forwarder) UDPAddr() net.Addr {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.udp == nil {
		return nil
	}
	return f.udp.LocalAddr()
}

// TCPAddr returns the bound TCP address, or nil before Start.
func (f *Forwarder) TCPAddr() net.Addr {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tcp == nil {
		return nil
	}
	return f.tcp.Addr()
}

// Shutdown stops receiving, sends what was received, and stops the proxy.
// Safe to call more than once and before Start.
func (f *Forwarder) Shutdown(ctx context.Context) error {
	f.mu.Lock()
	state := f.state
	f.state = 2
	f.mu.Unlock()
	if state != 1 {
		return nil
	}
	_ = f.udp.Close()
	f.wg.Wait()
	close(f.docs)
	done := make(chan struct{})
	go func() { f.upWG.Wait(); close(done) }()
	err := f.srv.Shutdown(ctx)
	select {
	case <-done:
	case <-ctx.Done():
		f.cancel()
		return ctx.Err()
	}
	f.cancel()
	return err
}

func (f *Forwarder) read() {
	defer f.wg.Done()
	buf := make([]byte, xrayingest.ReadBufferSize)
	for {
		n, _, err := f.udp.ReadFrom(buf)
		if n > 0 {
			f.m.received.Inc()
			doc, derr := xrayingest.SplitDatagram(buf[:n])
			if derr != nil {
				reason := derr.(*xrayingest.DatagramError).Reason
				f.m.rejected.WithLabelValues(reason).Inc()
				f.limit.Warn(f.log, "tracecomb daemon: datagram rejected", "reason", reason)
			} else {
				select {
				case f.docs <- string(bytes.TrimSpace(doc)):
				default:
					f.m.dropped.WithLabelValues("buffer_full").Inc()
					f.limit.Warn(f.log, "tracecomb daemon: buffer full, segment dropped")
				}
			}
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// batcher groups documents into batches of up to 50, sending a partial
// batch when no document came for a second.
func (f *Forwarder) batcher() {
	defer f.upWG.Done()
	defer close(f.batch)
	var b []string
	idle := time.NewTimer(f.flushIdle)
	defer idle.Stop()
	send := func() {
		if len(b) == 0 {
			return
		}
		select {
		case f.batch <- b:
		default:
			// The uploaders fell behind: drop the oldest batch, as the X-Ray daemon does.
			select {
			case old := <-f.batch:
				f.m.dropped.WithLabelValues("batch_queue_full").Add(float64(len(old)))
				f.limit.Warn(f.log, "tracecomb daemon: uploads behind, batch dropped", "segments", len(old))
			default:
			}
			select {
			case f.batch <- b:
			default:
				f.m.dropped.WithLabelValues("batch_queue_full").Add(float64(len(b)))
			}
		}
		b = nil
	}
	for {
		select {
		case d, ok := <-f.docs:
			if !ok {
				send()
				return
			}
			b = append(b, d)
			if len(b) >= forwardBatchSize {
				send()
			}
			idle.Reset(f.flushIdle)
		case <-idle.C:
			send()
			idle.Reset(f.flushIdle)
		}
	}
}

func (f *Forwarder) uploader() {
	defer f.upWG.Done()
	for b := range f.batch {
		f.upload(b)
	}
}

func (f *Forwarder) upload(docs []string) {
	ctx, cancel := context.WithTimeout(f.ctx, forwardCallTimeout)
	defer cancel()
	out, err := f.put.PutTraceSegments(ctx, &xraysvc.PutTraceSegmentsInput{TraceSegmentDocuments: docs})
	if err != nil {
		f.m.dropped.WithLabelValues("call_failed").Add(float64(len(docs)))
		f.limit.Warn(f.log, "tracecomb daemon: PutTraceSegments failed", "segments", len(docs), "err", err)
		return
	}
	bad := len(out.UnprocessedTraceSegments)
	f.m.unprocessed.Add(float64(bad))
	f.m.sent.Add(float64(len(docs) - bad))
	for _, u := range out.UnprocessedTraceSegments {
		f.limit.Warn(f.log, "tracecomb daemon: segment unprocessed",
			"id", aws.ToString(u.Id), "code", aws.ToString(u.ErrorCode), "message", aws.ToString(u.Message))
	}
}

// Usage describes the flags, for -h.
const Usage = `Usage: tracecomb daemon [options]
  -a, --resource-arn   resource ARN
  -b, --bind           UDP address to receive segments on (127.0.0.1:2000)
  -t, --bind-tcp       TCP address for sampling and API calls (127.0.0.1:2000)
  -c, --config         YAML config file; Endpoint: sets the tracecomb server
  -f, --log-file       log file
  -l, --log-level      dev, debug, info, warn, error or prod (prod)
  -m, --buffer-memory  buffer memory in MB (minimum 3)
  -n, --region         region
  -o, --local-mode     do not read EC2 instance metadata
  -p, --proxy-address  HTTP proxy for calls to the endpoint
  -r, --role-arn       role ARN
  -v, --version        print the version
  -h, --help           print this help
`
