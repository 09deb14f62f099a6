package app

import (
	"fmt"
	"strings"

	"github.com/tracecomb/tracecomb/internal/auth"
)

// printBanner tells a new user, once every door listens, where everything
// is and how to point the lesson's clients at it. key is the first key when
// Start just created it (shown only this once), else "".
func (a *App) printBanner(key string) {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	httpURL := "http://" + displayAddr(a.addrs.HTTP)
	w("tracecomb is running; data in %s\n\n", a.cfg.DataDir)
	if a.addrs.UI != "" {
		w("  Web UI          http://%s\n", displayAddr(a.addrs.UI))
	}
	w("  OTLP/HTTP       %s   (Honeycomb API and SigV4-signed X-Ray API too)\n", httpURL)
	if a.addrs.OTLPGRPC != "" {
		w("  OTLP/gRPC       %s\n", displayAddr(a.addrs.OTLPGRPC))
	}
	if a.addrs.XRay != "" {
		w("  X-Ray daemon    %s   (UDP segments; TCP sampling rules and the X-Ray API, unsigned, environment %q)\n", displayAddr(a.addrs.XRay), a.cfg.XRayEnv)
	}
	w("\n")
	keyRef := "$KEY"
	switch {
	case key != "" && key != a.cfg.BootstrapKey:
		w("Created environment %q with API key (shown once, keep it):\n\n    %s\n\n", auth.DefaultEnv, key)
		keyRef = key
	case key != "":
		w("Created environment %q with the key given by --bootstrap-key.\n\n", auth.DefaultEnv)
		keyRef = key
	default:
		w("API keys: tracecomb keys list; a new one: tracecomb keys create --env %s (KEY below is yours).\n\n", auth.DefaultEnv)
	}
	w("OpenTelemetry, as to Honeycomb:\n")
	w("    export OTEL_EXPORTER_OTLP_ENDPOINT=%s\n", httpURL)
	w("    export OTEL_EXPORTER_OTLP_HEADERS=x-honeycomb-team=%s\n", keyRef)
	w("    export OTEL_SERVICE_NAME=backend-flask\n")
	if a.addrs.XRay != "" {
		xray := displayAddr(a.addrs.XRay)
		w("X-Ray SDK, as to the X-Ray daemon:\n")
		w("    export AWS_XRAY_DAEMON_ADDRESS=%s\n", xray)
		w("AWS CLI, against the daemon door (no credentials needed):\n")
		w("    aws xray get-service-graph --endpoint-url http://%s --no-sign-request --region %s \\\n", xray, a.cfg.AWSRegion)
		w("        --start-time $(($(date +%%s)-600)) --end-time $(date +%%s)\n")
	}
	fmt.Fprint(a.out, b.String()+"\n")
}
