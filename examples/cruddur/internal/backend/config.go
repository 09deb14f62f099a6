package backend

import (
	"fmt"
	"net"
	"strconv"
	"time"
)

// XRayServiceName is the X-Ray segment name when the Host header does not
// match the dynamic naming pattern: the lesson's
// xray_recorder.configure(service='backend-flask', ...), fixed in its code
// and independent of OTEL_SERVICE_NAME. The lesson's X-Ray group and
// sampling rule select it.
const XRayServiceName = "backend-flask"

// DefaultPort is the port of the original backend.
const DefaultPort = "4567"

// Config configures the backend. ConfigFromEnv fills it from the lesson's
// environment variables; the OpenTelemetry exporter and resource read
// their own standard variables (OTEL_EXPORTER_OTLP_*, OTEL_SERVICE_NAME)
// and are not configured here.
type Config struct {
	// Addr is the listen address (":4567"; PORT replaces the port).
	Addr string
	// FrontendURL and BackendURL are the CORS origins (FRONTEND_URL,
	// BACKEND_URL), as the original allows them.
	FrontendURL string
	BackendURL  string
	// OTelServiceName is OTEL_SERVICE_NAME as read at start, for the log
	// only: the OpenTelemetry SDK reads the variable itself (unset, the
	// service is the SDK's unknown_service:<executable>, as in the lesson's
	// Python).
	OTelServiceName string
	// XRayServiceName names the X-Ray segment when the Host header does
	// not match XRayURL (the lesson's service='backend-flask').
	XRayServiceName string
	// XRayURL is the dynamic naming pattern (AWS_XRAY_URL, the lesson's
	// dynamic_naming): a Host header matching it (with * and ? wildcards)
	// names the segment.
	XRayURL string
	// XRayDaemonAddr is the X-Ray daemon (AWS_XRAY_DAEMON_ADDRESS), UDP for
	// segments and TCP for sampling rules; "127.0.0.1:2000" when empty.
	XRayDaemonAddr string
	// ShareTraceID (CRUDDUR_SHARE_TRACE_ID) makes both SDKs trace a request
	// under one trace id: OpenTelemetry ids are made in X-Ray's layout and
	// a request without an X-Amzn-Trace-Id header gets one derived from the
	// OpenTelemetry server span. Not part of the lesson, whose two SDKs
	// each keep a trace id of their own; it is for tracecomb's joined view
	// of a trace. Off by default.
	ShareTraceID bool
	// UpstreamURL is called by home activities through the instrumented HTTP
	// client (CRUDDUR_UPSTREAM_URL); empty means this server's /api/health,
	// "off" disables the call.
	UpstreamURL string
	// ShutdownTimeout bounds the graceful shutdown and the final flush.
	ShutdownTimeout time.Duration
}

// DefaultConfig returns the configuration of a backend with no environment.
func DefaultConfig() Config {
	return Config{
		Addr:            ":" + DefaultPort,
		XRayServiceName: XRayServiceName,
		XRayDaemonAddr:  "127.0.0.1:2000",
		ShutdownTimeout: 10 * time.Second,
	}
}

// ConfigFromEnv returns DefaultConfig with the lesson's variables applied.
// getenv is os.Getenv in main and a map lookup in tests. The only value it
// can reject is a CRUDDUR_SHARE_TRACE_ID that is not a boolean.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := DefaultConfig()
	if p := getenv("PORT"); p != "" {
		c.Addr = net.JoinHostPort("", p)
	}
	c.FrontendURL = getenv("FRONTEND_URL")
	c.BackendURL = getenv("BACKEND_URL")
	c.OTelServiceName = getenv("OTEL_SERVICE_NAME")
	c.XRayURL = getenv("AWS_XRAY_URL")
	if a := getenv("AWS_XRAY_DAEMON_ADDRESS"); a != "" {
		c.XRayDaemonAddr = a
	}
	if v := getenv("CRUDDUR_SHARE_TRACE_ID"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Config{}, fmt.Errorf("CRUDDUR_SHARE_TRACE_ID=%q: want 1 or 0 (true or false)", v)
		}
		c.ShareTraceID = b
	}
	c.UpstreamURL = getenv("CRUDDUR_UPSTREAM_URL")
	return c, nil
}
