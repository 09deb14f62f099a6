package xray

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	testAccessKey = "AKIATRACECOMBTEST001"
	testSecret    = "tracecomb/test/secret+key/0123456789abcdef"
)

// staticCreds is a CredentialStore over a fixed map.
type staticCreds map[string][2]string // access key → {secret, env}

func (c staticCreds) Lookup(id string) (string, string, bool) {
	v, ok := c[id]
	return v[0], v[1], ok
}

// signedServer serves h behind the SigV4 middleware with the test key
// pair, which belongs to environment "test".
func signedServer(t testing.TB, h *Handler) *httptest.Server {
	t.Helper()
	mw, err := SigV4(SigV4Config{Credentials: staticCreds{testAccessKey: {testSecret, "test"}}}, h)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mw)
	t.Cleanup(srv.Close)
	return srv
}

type cliResult struct {
	out, errOut string
	code        int
}

type cliCommand struct {
	key, secret string
	args        []string
}

// awsCLI runs AWS CLI command lines against url with the CLI's own entry
// point (awscli.clidriver), all in one Python process: the interpreter
// starts once instead of once per command.
func awsCLI(t *testing.T, url string, cmds []cliCommand) []cliResult {
	t.Helper()
	// Debian's package (/usr/bin/aws) first: a python shim earlier in PATH
	// may point elsewhere.
	bin := "/usr/bin/aws"
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("aws"); err != nil {
			t.Skip("AWS CLI not installed (apt-get install awscli)")
		}
	}
	// The CLI's own interpreter is named on its first line.
	head, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	python, _, _ := strings.Cut(strings.TrimPrefix(string(head), "#!"), "\n")
	python = strings.TrimSpace(python)
	if !strings.HasPrefix(python, "/") || strings.Contains(python, " ") {
		t.Fatalf("%s is not a python script (first line %q)", bin, python)
	}
	home := t.TempDir()
	type input struct {
		Args []string          `json:"args"`
		Env  map[string]string `json:"env"`
	}
	var in []input
	for _, c := range cmds {
		in = append(in, input{
			Args: append(append([]string{}, c.args...), "--endpoint-url", url, "--output", "json"),
			Env:  map[string]string{"AWS_ACCESS_KEY_ID": c.key, "AWS_SECRET_ACCESS_KEY": c.secret},
		})
	}
	body, _ := json.Marshal(in)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, filepath.Join("testdata", "awscli_batch.py"))
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "none"),
		"AWS_MAX_ATTEMPTS=1", "AWS_PAGER=",
	}
	cmd.Stdin = strings.NewReader(string(body))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("AWS CLI batch: %v\n%s", err, stderr.String())
	}
	var res []struct {
		Code int    `json:"code"`
		Out  string `json:"out"`
		Err  string `json:"err"`
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(cmds) {
		t.Fatalf("AWS CLI batch output: %v\n%s\n%s", err, out, stderr.String())
	}
	results := make([]cliResult, len(res))
	for i, r := range res {
		results[i] = cliResult{out: r.Out, errOut: r.Err, code: r.Code}
	}
	return results
}

// cliStep is one CLI command line and what its answer must show.
type cliStep struct {
	args  []string
	key   string // default testAccessKey
	code  string // error code the CLI must print ("" = success)
	msg   string // text stderr must contain (errors)
	check func(t *testing.T, out map[string]any)
}

func runCLISteps(t *testing.T, url string, steps []cliStep) {
	t.Helper()
	var cmds []cliCommand
	for _, s := range steps {
		key := s.key
		if key == "" {
			key = testAccessKey
		}
		secret := testSecret
		if s.code == CodeInvalidSignature {
			secret = "not-the-secret"
		}
		cmds = append(cmds, cliCommand{key: key, secret: secret, args: s.args})
	}
	for i, r := range awsCLI(t, url, cmds) {
		s := steps[i]
		if s.code != "" {
			if r.code == 0 || !strings.Contains(r.errOut, "("+s.code+")") || !strings.Contains(r.errOut, s.msg) {
				t.Errorf("aws %v: exit %d, stderr %q; want %s with %q", s.args, r.code, r.errOut, s.code, s.msg)
			}
			continue
		}
		if r.code != 0 {
			t.Errorf("aws %v: exit %d\n%s", s.args, r.code, r.errOut)
			continue
		}
		var out map[string]any
		if strings.TrimSpace(r.out) != "" {
			if err := json.Unmarshal([]byte(r.out), &out); err != nil {
				t.Errorf("aws %v: %v\n%s", s.args, err, r.out)
				continue
			}
		}
		if s.check != nil {
			s.check(t, out)
		}
	}
}

func member(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// TestAWSCLI runs the lesson's commands and invalid requests with the real
// AWS CLI, signed with SigV4 and verified by the middleware.
func TestAWSCLI(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, func(c *Config) { c.DefaultEnv = "" })
	srv := signedServer(t, hs.h)
	badRule := func(kv string) []string {
		return []string{"xray", "create-sampling-rule", "--sampling-rule",
			"RuleName=Bad,ResourceARN=*,ReservoirSize=5,ServiceName=*,ServiceType=*,Host=*,HTTPMethod=*,URLPath=*,Version=1," + kv}
	}
	runCLISteps(t, srv.URL, []cliStep{
		{args: []string{"xray", "create-sampling-rule", "--cli-input-json", "file://testdata/xray.json"}, check: func(t *testing.T, out map[string]any) {
			r := member(out, "SamplingRuleRecord", "SamplingRule")
			if member(r, "RuleARN") != "arn:aws:xray:us-east-1:000000000000:sampling-rule/Cruddur" || member(r, "Priority") != 9000.0 ||
				member(r, "ReservoirSize") != 5.0 || member(r, "FixedRate") != 0.1 || member(r, "ServiceName") != "backend-flask" {
				t.Errorf("create-sampling-rule: %v", out)
			}
		}},
		{args: []string{"xray", "get-sampling-rules"}, check: func(t *testing.T, out map[string]any) {
			if member(out, "SamplingRuleRecords", 0, "SamplingRule", "RuleName") != "Cruddur" ||
				member(out, "SamplingRuleRecords", 1, "SamplingRule", "RuleName") != "Default" ||
				member(out, "SamplingRuleRecords", 1, "SamplingRule", "Priority") != 10000.0 || member(out, "SamplingRuleRecords", 2) != nil {
				t.Errorf("get-sampling-rules: %v", out)
			}
		}},
		{args: []string{"xray", "update-sampling-rule", "--sampling-rule-update", "RuleName=Cruddur,FixedRate=0.25,ReservoirSize=2"}, check: func(t *testing.T, out map[string]any) {
			r := member(out, "SamplingRuleRecord", "SamplingRule")
			if member(r, "FixedRate") != 0.25 || member(r, "ReservoirSize") != 2.0 || member(r, "Priority") != 9000.0 {
				t.Errorf("update-sampling-rule: %v", out)
			}
		}},
		{args: []string{"xray", "get-sampling-targets", "--sampling-statistics-documents",
			"RuleName=Cruddur,ClientID=0123456789abcdef01234567,Timestamp=2026-11-25T12:00:00Z,RequestCount=40,SampledCount=4,BorrowCount=0"}, check: func(t *testing.T, out map[string]any) {
			d := member(out, "SamplingTargetDocuments", 0)
			if member(d, "RuleName") != "Cruddur" || member(d, "ReservoirQuota") != 2.0 || member(d, "Interval") != 10.0 || member(d, "FixedRate") != 0.25 {
				t.Errorf("get-sampling-targets: %v", out)
			}
		}},
		{args: []string{"xray", "get-sampling-statistic-summaries"}, check: func(t *testing.T, out map[string]any) {
			if member(out, "SamplingStatisticSummaries", 0, "RuleName") != "Cruddur" || member(out, "SamplingStatisticSummaries", 0, "RequestCount") != 40.0 {
				t.Errorf("get-sampling-statistic-summaries: %v", out)
			}
		}},
		{args: []string{"xray", "tag-resource", "--resource-arn", "arn:aws:xray:us-east-1:000000000000:sampling-rule/Cruddur", "--tags", "Key=team,Value=cruddur"}},
		{args: []string{"xray", "list-tags-for-resource", "--resource-arn", "arn:aws:xray:us-east-1:000000000000:sampling-rule/Cruddur"}, check: func(t *testing.T, out map[string]any) {
			if member(out, "Tags", 0, "Key") != "team" || member(out, "Tags", 0, "Value") != "cruddur" {
				t.Errorf("list-tags-for-resource: %v", out)
			}
		}},
		{args: []string{"xray", "tag-resource", "--resource-arn", "arn:aws:xray:us-east-1:000000000000:sampling-rule/None", "--tags", "Key=a,Value=b"}, code: CodeResourceNotFound, msg: "Resource not found"},
		{args: badRule("Priority=10000,FixedRate=0.1"), code: CodeInvalidRequest, msg: "'samplingRule.priority' failed to satisfy constraint: Member must have value less than or equal to 9999"},
		{args: badRule("Priority=5,FixedRate=1.5"), code: CodeInvalidRequest, msg: "'samplingRule.fixedRate' failed to satisfy constraint: Member must have value between 0 and 1"},
		{args: []string{"xray", "create-sampling-rule", "--cli-input-json", "file://testdata/xray.json"}, code: CodeInvalidRequest, msg: "A sampling rule with name Cruddur already exists."},
		{args: []string{"xray", "delete-sampling-rule", "--rule-name", "Default"}, code: CodeInvalidRequest, msg: "The default sampling rule cannot be deleted."},
		{args: []string{"xray", "delete-sampling-rule", "--rule-name", "Cruddur"}, check: func(t *testing.T, out map[string]any) {
			if member(out, "SamplingRuleRecord", "SamplingRule", "RuleName") != "Cruddur" {
				t.Errorf("delete-sampling-rule: %v", out)
			}
		}},
		{args: []string{"xray", "create-group", "--group-name", "Cruddur", "--filter-expression", `service("backend-flask")`}, check: func(t *testing.T, out map[string]any) {
			arn, _ := member(out, "Group", "GroupARN").(string)
			if member(out, "Group", "GroupName") != "Cruddur" || member(out, "Group", "FilterExpression") != `service("backend-flask")` ||
				!strings.HasPrefix(arn, "arn:aws:xray:us-east-1:000000000000:group/Cruddur/") {
				t.Errorf("create-group: %v", out)
			}
		}},
		{args: []string{"xray", "get-groups"}, check: func(t *testing.T, out map[string]any) {
			if member(out, "Groups", 0, "GroupName") != "Default" || member(out, "Groups", 1, "GroupName") != "Cruddur" || member(out, "NextToken") != nil {
				t.Errorf("get-groups: %v", out)
			}
		}},
		{args: []string{"xray", "get-group", "--group-name", "Cruddur"}, check: func(t *testing.T, out map[string]any) {
			if member(out, "Group", "FilterExpression") != `service("backend-flask")` {
				t.Errorf("get-group: %v", out)
			}
		}},
		{args: []string{"xray", "create-group", "--group-name", "bad name"}, code: CodeInvalidRequest, msg: "a group name may contain only letters, digits and '-'"},
		{args: []string{"xray", "create-group", "--group-name", "Bad", "--filter-expression", `service("x"`}, code: CodeInvalidRequest, msg: "Invalid filter expression"},
		{args: []string{"xray", "delete-group", "--group-name", "Cruddur"}},
		{args: []string{"xray", "get-group", "--group-name", "Cruddur"}, code: CodeInvalidRequest, msg: "Group not found: Cruddur"},
		{args: []string{"xray", "put-encryption-config", "--type", "KMS", "--key-id", "alias/aws/xray"}, check: func(t *testing.T, out map[string]any) {
			if member(out, "EncryptionConfig", "Type") != "KMS" || member(out, "EncryptionConfig", "KeyId") != "alias/aws/xray" {
				t.Errorf("put-encryption-config: %v", out)
			}
		}},
		// Authentication failures.
		{args: []string{"xray", "get-sampling-rules", "--no-sign-request"}, code: CodeMissingToken, msg: "Missing Authentication Token"},
		{args: []string{"xray", "get-sampling-rules"}, key: "AKIAUNKNOWN000000000", code: CodeUnrecognizedClient, msg: "The security token included in the request is invalid."},
		{args: []string{"xray", "get-sampling-rules"}, code: CodeInvalidSignature, msg: "The request signature we calculated does not match the signature you provided."},
	})
}
