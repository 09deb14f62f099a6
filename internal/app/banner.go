package app

import (
	"fmt"
	"strings"

	"github.com/tracecomb/tracecomb/internal/auth"
)

// printBanner tells a new user, once every door listens, where everything
// is and how to point the lesson's clients at it. keys are the keys Start
// just created (shown only this once), if any.
func (a *App) printBanner(keys []auth.CreatedKey) {
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
	case len(keys) == 1 && keys[0].Secret == a.cfg.BootstrapKey:
		w("Created environment %q with the key given by --bootstrap-key. It may send and read: a local\n"+
			"convenience for scripts; Honeycomb's keys are either ingest keys (send) or configuration keys.\n\n", auth.DefaultEnv)
		keyRef = keys[0].Secret
	case len(keys) > 0:
		w("Created environment %q with two keys (shown once, keep them):\n\n", auth.DefaultEnv)
		for _, k := range keys {
			switch k.Kind {
			case auth.KindIngest:
				w("    ingest key         %-64s  sends data (OTLP, the Events API)\n", k.Secret)
				keyRef = k.Secret
			case auth.KindConfiguration:
				w("    configuration key  %-64s  the API and the UI (every permission)\n", k.Secret)
			}
		}
		w("\n")
	default:
		w("API keys: tracecomb keys list; a new one: tracecomb keys create --env %s --kind ingest|configuration.\n\n", auth.DefaultEnv)
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
