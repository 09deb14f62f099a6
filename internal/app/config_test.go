package app

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestConfigStoreFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		env     map[string]string
		density float64
		limit   string
		err     string
	}{
		{args: nil, density: 0.5, limit: "256MB"},
		{args: []string{"-store-column-density", "-1", "-store-memory-limit", "1GB"}, density: -1, limit: "1GB"},
		{env: map[string]string{"TRACECOMB_STORE_COLUMN_DENSITY": "0.2", "TRACECOMB_STORE_MEMORY_LIMIT": "512MB"}, density: 0.2, limit: "512MB"},
		{env: map[string]string{"TRACECOMB_STORE_COLUMN_DENSITY": "0.2"}, args: []string{"-store-column-density", "0.9"}, density: 0.9, limit: "256MB"},
		{args: []string{"-store-column-density", "0"}, err: "--store-column-density"},
		{args: []string{"-store-column-density", "1.5"}, err: "--store-column-density"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			c, err := serveConfig(t, tc.args, tc.env)
			if !configOK(t, err, tc.err) {
				return
			}
			if c.StoreColumnDensity != tc.density || c.StoreMemoryLimit != tc.limit {
				t.Errorf("density %v, memory limit %q; want %v, %q", c.StoreColumnDensity, c.StoreMemoryLimit, tc.density, tc.limit)
			}
		})
	}
}

// TestPprofDoor starts the server with --pprof-addr on a free port and
// reads a heap profile from it; without the flag there is no such door.
func TestPprofDoor(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddr, cfg.OTLPGRPCAddr, cfg.XRayAddr, cfg.UIAddr, cfg.PprofAddr = "127.0.0.1:0", "", "", "", "127.0.0.1:0"
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer a.Shutdown(context.Background()) //nolint:errcheck
	if a.Addrs().Pprof == "" {
		t.Fatal("no pprof address")
	}
	resp, err := http.Get("http://" + a.Addrs().Pprof + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "heap profile") {
		t.Fatalf("heap profile: %d %.200s", resp.StatusCode, body)
	}
	if DefaultConfig().PprofAddr != "" {
		t.Error("the pprof door is on by default")
	}
}

// TestConfigRegion: ARNs take the region from --aws-region, else
// AWS_REGION, else AWS_DEFAULT_REGION (as the AWS CLI reads them), else
// us-east-1.
func TestConfigRegion(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		region, defaultRegion string
		args                  []string
		want                  string
	}{
		{"none", "", "", nil, "us-east-1"},
		{"AWS_DEFAULT_REGION", "", "eu-west-2", nil, "eu-west-2"},
		{"AWS_REGION wins", "us-west-1", "eu-west-2", nil, "us-west-1"},
		{"flag wins", "us-west-1", "eu-west-2", []string{"-aws-region", "ap-south-1"}, "ap-south-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("AWS_REGION", tc.region)
			t.Setenv("AWS_DEFAULT_REGION", tc.defaultRegion)
			c := DefaultConfig()
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			c.BindFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if c.AWSRegion != tc.want {
				t.Errorf("region %q, want %q", c.AWSRegion, tc.want)
			}
		})
	}
}

// TestConfigBootstrapKeyLength: a guessable --bootstrap-key is refused.
func TestConfigBootstrapKeyLength(t *testing.T) {
	c := DefaultConfig()
	c.BootstrapKey = "k"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--bootstrap-key must be at least 16") {
		t.Errorf("a 1-character key: %v", err)
	}
	c.BootstrapKey = "tracecomb-lesson-key"
	if err := c.Validate(); err != nil {
		t.Errorf("a 20-character key: %v", err)
	}
}

// serveConfig is the Config that `tracecomb serve` gets from args and the
// environment variables env (set for the test): flags bound and parsed,
// then validated (err). Arguments that do not parse fail the test.
func serveConfig(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	c := DefaultConfig()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return c, c.Validate()
}

// configOK checks Validate's answer: an error naming want, or none when
// want is empty. It reports whether the config is valid and checked
// further.
func configOK(t *testing.T, err error, want string) bool {
	t.Helper()
	if want != "" {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want an error naming %s", err, want)
		}
		return false
	}
	if err != nil {
		t.Error(err)
		return false
	}
	return true
}

// TestConfigNotifyFlags: the notification servers come from flags or
// their environment variables (flags win); a bad one is refused.
func TestConfigNotifyFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want NotifyConfig
		err  string
	}{
		{name: "defaults", want: NotifyConfig{SlackAPIURL: "https://slack.com/api", PagerDutyURL: "https://events.pagerduty.com/v2/enqueue"}},
		{name: "environment",
			env: map[string]string{"TRACECOMB_SMTP_ADDR": "mail.example.com:587", "TRACECOMB_SMTP_FROM": "alerts@example.com",
				"TRACECOMB_SMTP_USERNAME": "bot", "TRACECOMB_SMTP_PASSWORD": "pw", "TRACECOMB_SLACK_TOKEN": "xoxb-1",
				"TRACECOMB_SLACK_API_URL": "http://slack.test/api", "TRACECOMB_PAGERDUTY_URL": "http://pd.test/v2/enqueue"},
			want: NotifyConfig{SMTPAddr: "mail.example.com:587", SMTPFrom: "alerts@example.com", SMTPUsername: "bot", SMTPPassword: "pw",
				SlackToken: "xoxb-1", SlackAPIURL: "http://slack.test/api", PagerDutyURL: "http://pd.test/v2/enqueue"}},
		{name: "flags win", env: map[string]string{"TRACECOMB_SMTP_ADDR": "a.example.com:25"}, args: []string{"-smtp-addr", "b.example.com:465"},
			want: NotifyConfig{SMTPAddr: "b.example.com:465", SlackAPIURL: "https://slack.com/api", PagerDutyURL: "https://events.pagerduty.com/v2/enqueue"}},
		{name: "a token flag wins over its variable", env: map[string]string{"TRACECOMB_SLACK_TOKEN": "xoxb-env"}, args: []string{"-slack-token", "xoxb-flag"},
			want: NotifyConfig{SlackToken: "xoxb-flag", SlackAPIURL: "https://slack.com/api", PagerDutyURL: "https://events.pagerduty.com/v2/enqueue"}},
		{name: "smtp without a port", args: []string{"-smtp-addr", "mail.example.com"}, err: "--smtp-addr"},
		{name: "bad sender", args: []string{"-smtp-addr", "mail.example.com:25", "-smtp-from", "alerts"}, err: "--smtp-from"},
		{name: "bad slack URL", args: []string{"-slack-api-url", "slack.com/api"}, err: "--slack-api-url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := serveConfig(t, tc.args, tc.env)
			if !configOK(t, err, tc.err) {
				return
			}
			if c.Notify != tc.want {
				t.Errorf("notify %+v, want %+v", c.Notify, tc.want)
			}
		})
	}
}

// TestConfigSecretsNotInUsage: -h does not show the SMTP password or the
// Slack token taken from the environment.
func TestConfigSecretsNotInUsage(t *testing.T) {
	t.Setenv("TRACECOMB_SMTP_PASSWORD", "hunter2-password")
	t.Setenv("TRACECOMB_SLACK_TOKEN", "xoxb-secret-token")
	c := DefaultConfig()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var usage strings.Builder
	fs.SetOutput(&usage)
	c.BindFlags(fs)
	fs.PrintDefaults()
	if c.Notify.SMTPPassword != "hunter2-password" || c.Notify.SlackToken != "xoxb-secret-token" {
		t.Errorf("password %q, token %q: want the environment's", c.Notify.SMTPPassword, c.Notify.SlackToken)
	}
	for _, s := range []string{"hunter2-password", "xoxb-secret-token"} {
		if strings.Contains(usage.String(), s) {
			t.Errorf("usage shows %q", s)
		}
	}
	if !strings.Contains(usage.String(), "-smtp-password") || !strings.Contains(usage.String(), "-slack-token") {
		t.Error("usage lacks -smtp-password or -slack-token")
	}
}
