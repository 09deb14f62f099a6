package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	xraysvc "github.com/aws/aws-sdk-go-v2/service/xray"
)

// TestXRayDoorRefusesWebPages: the daemon door takes no credentials, so it
// refuses what a web page could send (an Origin, a form or text/plain
// body) and, bound to loopback, foreign Host headers (DNS rebinding); SDK
// and CLI requests pass.
func TestXRayDoorRefusesWebPages(t *testing.T) {
	a, _ := testApp(t, t.TempDir())
	url := "http://" + a.Addrs().XRay + "/TraceSummaries"
	body := `{"StartTime": 1, "EndTime": 2}`
	for _, c := range []struct {
		name    string
		headers map[string]string
		host    string
		want    int
	}{
		{"an SDK's request", map[string]string{"Content-Type": "application/json"}, "", 200},
		{"no content type", nil, "", 200},
		{"foreign host (DNS rebinding)", map[string]string{"Content-Type": "application/json"}, "evil.example:2000", 403},
		{"a page's fetch", map[string]string{"Content-Type": "application/json", "Origin": "http://evil.example"}, "", 403},
		{"a cross-site fetch without Origin", map[string]string{"Sec-Fetch-Site": "cross-site"}, "", 403},
		{"a form post", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "", 403},
		{"a text/plain post", map[string]string{"Content-Type": "text/plain;charset=UTF-8"}, "", 403},
	} {
		req, _ := http.NewRequest("POST", url, strings.NewReader(body))
		for k, v := range c.headers {
			req.Header.Set(k, v)
		}
		if c.host != "" {
			req.Host = c.host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want || (c.want == 403 && resp.Header.Get("X-Amzn-ErrorType") != "AccessDeniedException") {
			t.Errorf("%s: %d %s %s, want %d", c.name, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), b, c.want)
		}
	}
}

// TestXRayDoorSigV4: with --xray-door-sigv4 the daemon door takes only
// signed X-Ray API calls, but still the SDKs' unsigned sampling calls.
func TestXRayDoorSigV4(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddr, cfg.OTLPGRPCAddr, cfg.XRayAddr, cfg.UIAddr = "127.0.0.1:0", "", "127.0.0.1:0", ""
	cfg.XRayDoorSigV4 = true
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer a.Shutdown(context.Background()) //nolint:errcheck
	base := "http://" + a.Addrs().XRay
	post := func(path string) (int, string) {
		resp, err := http.Post(base+path, "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType")
	}
	if code, typ := post("/Groups"); code != 403 || !strings.Contains(typ, "MissingAuthenticationToken") {
		t.Errorf("unsigned GetGroups: %d %s, want 403 MissingAuthenticationTokenException", code, typ)
	}
	if code, _ := post("/GetSamplingRules"); code != 200 {
		t.Errorf("unsigned GetSamplingRules (the SDKs' call): %d, want 200", code)
	}
	pair, err := a.Registry().CreateAWSKey("test")
	if err != nil {
		t.Fatal(err)
	}
	client := xraysvc.New(xraysvc.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(base), RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: pair.AccessKeyID, SecretAccessKey: pair.SecretAccessKey}, nil
		}),
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out *xraysvc.GetGroupsOutput
	for deadline := time.Now().Add(5 * time.Second); ; { // the registry picks the new pair up within 250 ms
		out, err = client.GetGroups(ctx, &xraysvc.GetGroupsInput{})
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil || len(out.Groups) == 0 {
		t.Fatalf("signed GetGroups: %v", err)
	}
}
