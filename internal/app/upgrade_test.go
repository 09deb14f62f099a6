package app

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	xraysvc "github.com/aws/aws-sdk-go-v2/service/xray"
)

// untar unpacks a .tgz fixture into dir.
func untar(t *testing.T, path, dir string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(dir, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o700); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(target, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestDataDirectoryFrom244c1a6: a data directory written by an older
// tracecomb (testdata/datadir-244c1a6.md says how) opens, twice, and keeps
// its keys, AWS key pair, sampling rule and its tag, group, markers and
// telemetry.
func TestDataDirectoryFrom244c1a6(t *testing.T) {
	dir := t.TempDir()
	untar(t, filepath.Join("testdata", "datadir-244c1a6.tgz"), dir)
	for run := 1; run <= 2; run++ {
		cfg := DefaultConfig()
		cfg.DataDir = dir
		cfg.HTTPAddr, cfg.OTLPGRPCAddr, cfg.XRayAddr, cfg.UIAddr = "127.0.0.1:0", "", "127.0.0.1:0", ""
		a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler), io.Discard)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if err := a.Start(context.Background()); err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		checkFixture(t, "http://"+a.Addrs().HTTP)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = a.Shutdown(ctx)
		cancel()
		if err != nil {
			t.Fatalf("run %d: shutdown: %v", run, err)
		}
	}
	for _, f := range []string{"auth.json", "markers/markers.json", "xray/test.xray.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s is still there (%v): it should have been imported and renamed", f, err)
		}
		if _, err := os.Stat(filepath.Join(dir, f+".imported")); err != nil {
			t.Errorf("%s.imported: %v", f, err)
		}
	}
}

func checkFixture(t *testing.T, base string) {
	t.Helper()
	const testKey, prodKey = "fixture-key-0123456789", "hcaik_wlkj2utexjnu3kkjhjm4u7jv74246178fba8cd27b21850404402e9eb6f"
	for key, env := range map[string]string{testKey: "test", prodKey: "prod"} {
		var auth struct {
			Environment struct{ Slug string } `json:"environment"`
		}
		if code := getJSON(t, base+"/1/auth", key, &auth); code != 200 || auth.Environment.Slug != env {
			t.Errorf("/1/auth with the %s key: %d %+v", env, code, auth)
		}
	}
	var tr traceResponse
	if code := getJSON(t, base+"/api/traces/5b8efff798038103d269b633813fc60c", testKey, &tr); code != 200 || len(tr.Events) != 2 {
		t.Errorf("the OTLP trace: %d, %d events, want 2", code, len(tr.Events))
	}
	var markers []map[string]any
	if code := getJSON(t, base+"/1/markers/backend-flask", testKey, &markers); code != 200 || len(markers) != 1 || markers[0]["message"] != "deploy 42" || markers[0]["url"] != "https://example.com/deploys/42" {
		t.Errorf("backend-flask markers: %d %v", code, markers)
	}
	if code := getJSON(t, base+"/1/markers/__all__", testKey, &markers); code != 200 || len(markers) != 1 || markers[0]["message"] != "env-wide maintenance" || markers[0]["end_time"] != float64(1764003700) {
		t.Errorf("environment markers: %d %v", code, markers)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client := xraysvc.New(xraysvc.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(base), RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIAQFUJEXF3LKBXWVXC", SecretAccessKey: "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"}, nil
		}),
	})
	rules, err := client.GetSamplingRules(ctx, &xraysvc.GetSamplingRulesInput{})
	if err != nil {
		t.Fatalf("GetSamplingRules signed with the imported AWS key: %v", err)
	}
	var ruleARN string
	for _, r := range rules.SamplingRuleRecords {
		if sr := r.SamplingRule; aws.ToString(sr.RuleName) == "Cruddur" && sr.FixedRate == 0.1 && sr.ReservoirSize == 5 && aws.ToString(sr.ServiceName) == "backend-flask" {
			ruleARN = aws.ToString(sr.RuleARN)
		}
	}
	if ruleARN == "" || len(rules.SamplingRuleRecords) != 2 {
		t.Fatalf("rules: %d, no Cruddur rule as created", len(rules.SamplingRuleRecords))
	}
	tags, err := client.ListTagsForResource(ctx, &xraysvc.ListTagsForResourceInput{ResourceARN: aws.String(ruleARN)})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "team" || aws.ToString(tags.Tags[0].Value) != "cruddur" {
		t.Errorf("tags of the rule: %+v %v", tags, err)
	}
	groups, err := client.GetGroups(ctx, &xraysvc.GetGroupsInput{})
	found := false
	for _, g := range groups.Groups {
		found = found || (aws.ToString(g.GroupName) == "Cruddur" && aws.ToString(g.FilterExpression) == `service("backend-flask")`)
	}
	if err != nil || !found {
		t.Errorf("groups: %+v %v", groups, err)
	}
	traces, err := client.BatchGetTraces(ctx, &xraysvc.BatchGetTracesInput{TraceIds: []string{"1-6b1654fd-5759e988bd862e3fe1be46a9"}})
	if err != nil || len(traces.Traces) != 1 || len(traces.Traces[0].Segments) != 1 || !strings.Contains(aws.ToString(traces.Traces[0].Segments[0].Document), `"name":"backend-flask"`) {
		t.Errorf("the X-Ray segment: %+v %v", traces, err)
	}
}
