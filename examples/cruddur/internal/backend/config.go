package backend

import (
	"net"
	"time"
)

// DefaultServiceName is the service name the lesson's X-Ray group and
// sampling rule select, used when OTEL_SERVICE_NAME is not set.
const DefaultServiceName = "backend-flask"

// DefaultPort is the port of the original backend.
const DefaultPort = "4567"

// Config configures the backend. ConfigFromEnv fills it from the lesson's
// environment variables; the OpenTelemetry exporter reads its own standard
// variables and is not configured here.
type Config struct {
	// Addr is the listen address (":4567"; PORT replaces the port).
	Addr string
	// FrontendURL and BackendURL are the CORS origins (FRONTEND_URL,
	// BACKEND_URL), as the original allows them.
	FrontendURL string
	BackendURL  string
	// ServiceName is the OTel service name when OTEL_SERVICE_NAME is unset,
	// and the X-Ray segment name when the Host header does not match XRayURL.
	ServiceName string
	// XRayURL is the dynamic naming pattern (AWS_XRAY_URL): a Host header
	// matching it (with * and ? wildcards) names the segment.
	XRayURL string
	// XRayDaemonAddr is the X-Ray daemon (AWS_XRAY_DAEMON_ADDRESS), UDP for
	// segments and TCP for sampling rules; "127.0.0.1:2000" when empty.
	XRayDaemonAddr string
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
		ServiceName:     DefaultServiceName,
		XRayDaemonAddr:  "127.0.0.1:2000",
		ShutdownTimeout: 10 * time.Second,
	}
}

// ConfigFromEnv returns DefaultConfig with the lesson's variables applied.
// getenv is os.Getenv in main and a map lookup in tests.
func ConfigFromEnv(getenv func(string) string) Config {
	c := DefaultConfig()
	if p := getenv("PORT"); p != "" {
		c.Addr = net.JoinHostPort("", p)
	}
	c.FrontendURL = getenv("FRONTEND_URL")
	c.BackendURL = getenv("BACKEND_URL")
	if n := getenv("OTEL_SERVICE_NAME"); n != "" {
		c.ServiceName = n
	}
	c.XRayURL = getenv("AWS_XRAY_URL")
	if a := getenv("AWS_XRAY_DAEMON_ADDRESS"); a != "" {
		c.XRayDaemonAddr = a
	}
	c.UpstreamURL = getenv("CRUDDUR_UPSTREAM_URL")
	return c
}
