package forwarder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	xraysvc "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	xrayingest "github.com/tracecomb/tracecomb/internal/ingest/xray"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func readTestFile(name string) ([]byte, error) { return os.ReadFile("testdata/" + name) }

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func send(t *testing.T, c net.Conn, p string) {
	t.Helper()
	if _, err := c.Write([]byte(p)); err != nil {
		t.Fatal(err)
	}
}

// segment returns a one-span segment datagram with the given id.
func segment(id string) string {
	return `{"format":"json","version":1}` + "\n" +
		`{"trace_id":"1-5759e988-bd862e3fe1be46a994272793","id":"` + id + `","name":"svc","start_time":1.5e9,"end_time":1.6e9}`
}

func spanID(i int) string { return fmt.Sprintf("%016x", i+1) }

func TestParseForwarderArgs(t *testing.T) {
	noFile := func(string) ([]byte, error) { return nil, fs.ErrNotExist }
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		readFile func(string) ([]byte, error)
		check    func(t *testing.T, c Config)
		err      string
	}{
		{
			name: "full config file",
			args: []string{"-c", "full.yaml"},
			check: func(t *testing.T, c Config) {
				want := Config{
					UDPAddress: "0.0.0.0:2000", TCPAddress: "0.0.0.0:2001", Endpoint: "http://tracecomb.internal:2000",
					Region: "eu-west-1", LocalMode: true, LogLevel: "warn", LogFile: "/var/log/xray/xray.log",
					ResourceARN: "arn:aws:ec2:eu-west-1:123456789012:instance/i-0abc", BufferMemoryMB: 24,
					Concurrency: 4, ConfigFile: "full.yaml",
				}
				if c != want {
					t.Errorf("got  %+v\nwant %+v", c, want)
				}
				if c.SlogLevel() != slog.LevelWarn {
					t.Errorf("slog level %v", c.SlogLevel())
				}
			},
		},
		{
			name: "short flags override the file",
			args: []string{"-c", "full.yaml", "-b", "127.0.0.1:3000", "-t", "127.0.0.1:3001", "-n", "us-west-2", "-l", "dev", "-m", "8", "-a", "arn:x", "-r", "arn:role", "-p", "http://proxy:3128", "-f", "/tmp/x.log"},
			check: func(t *testing.T, c Config) {
				if c.UDPAddress != "127.0.0.1:3000" || c.TCPAddress != "127.0.0.1:3001" || c.Region != "us-west-2" ||
					c.LogLevel != "dev" || c.BufferMemoryMB != 8 || c.ResourceARN != "arn:x" || c.RoleARN != "arn:role" ||
					c.ProxyAddress != "http://proxy:3128" || c.LogFile != "/tmp/x.log" || c.Endpoint != "http://tracecomb.internal:2000" {
					t.Errorf("%+v", c)
				}
				if c.SlogLevel() != slog.LevelDebug {
					t.Errorf("dev → %v", c.SlogLevel())
				}
			},
		},
		{
			name: "long flags, local mode",
			args: []string{"--config=minimal.yaml", "--bind", "127.0.0.1:4000", "--bind-tcp=127.0.0.1:4001", "--region", "ap-south-1", "--local-mode", "--log-level", "error"},
			check: func(t *testing.T, c Config) {
				if c.UDPAddress != "127.0.0.1:4000" || c.TCPAddress != "127.0.0.1:4001" || c.Region != "ap-south-1" ||
					!c.LocalMode || c.LogLevel != "error" || c.Endpoint != "https://tracecomb.example.com" {
					t.Errorf("%+v", c)
				}
			},
		},
		{
			name: "defaults and AWS_REGION",
			args: []string{"-c", "minimal.yaml"},
			env:  map[string]string{"AWS_REGION": "sa-east-1"},
			check: func(t *testing.T, c Config) {
				if c.UDPAddress != "127.0.0.1:2000" || c.TCPAddress != "127.0.0.1:2000" || c.Region != "sa-east-1" ||
					c.LogLevel != "prod" || c.Concurrency != 8 || c.SlogLevel() != slog.LevelInfo {
					t.Errorf("%+v", c)
				}
			},
		},
		{
			name: "config found at a default path",
			args: nil,
			readFile: func(p string) ([]byte, error) {
				if p == "cfg.yaml" {
					return readTestFile("minimal.yaml")
				}
				return nil, fs.ErrNotExist
			},
			check: func(t *testing.T, c Config) {
				if c.ConfigFile != "cfg.yaml" || c.Endpoint != "https://tracecomb.example.com" {
					t.Errorf("%+v", c)
				}
			},
		},
		{
			name:     "version needs no endpoint",
			args:     []string{"-v"},
			readFile: noFile,
			check: func(t *testing.T, c Config) {
				if !c.ShowVersion {
					t.Error("ShowVersion not set")
				}
			},
		},
		{name: "no endpoint anywhere", args: nil, readFile: noFile, err: "no Endpoint is set"},
		{name: "missing config file", args: []string{"-c", "nope.yaml"}, err: "no such file"},
		{name: "unknown YAML key", args: []string{"-c", "unknown_key.yaml"}, err: "Endpiont"},
		{name: "bad Version", args: []string{"-c", "bad_version.yaml"}, err: "Version 3"},
		{name: "endpoint without scheme", args: []string{"-c", "bad_endpoint.yaml"}, err: "want http(s)://host"},
		{name: "not YAML", args: []string{"-c", "not_yaml.yaml"}, err: "not_yaml.yaml"},
		{name: "no -e flag", args: []string{"-e", "http://x"}, err: "flag provided but not defined: -e"},
		{name: "bad log level", args: []string{"-c", "minimal.yaml", "-l", "loud"}, err: `log level "loud"`},
		{name: "buffer below 3 MB", args: []string{"-c", "minimal.yaml", "-m", "2"}, err: "minimum is 3"},
		{name: "bad bind address", args: []string{"-c", "minimal.yaml", "-b", "2000"}, err: "UDP address"},
		{name: "stray argument", args: []string{"-c", "minimal.yaml", "extra"}, err: `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			read := tt.readFile
			if read == nil {
				read = readTestFile
			}
			env := func(k string) string { return tt.env[k] }
			c, err := ParseArgs(tt.args, env, read)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

// xrayServer stands in for a tracecomb server's X-Ray API on the daemon
// port: PutTraceSegments judged with Decode, and a sampling path that
// records how it was called.
type xrayServer struct {
	mu       sync.Mutex
	calls    [][]string
	sampling []*http.Request
}

func (s *xrayServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	switch r.URL.Path {
	case "/TraceSegments":
		var in struct{ TraceSegmentDocuments []string }
		if r.Method != http.MethodPost || json.Unmarshal(body, &in) != nil {
			w.Header().Set("X-Amzn-ErrorType", "InvalidRequestException")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"message":"bad request"}`)
			return
		}
		type unprocessed struct{ Id, ErrorCode, Message string }
		out := struct{ UnprocessedTraceSegments []unprocessed }{UnprocessedTraceSegments: []unprocessed{}}
		for _, d := range in.TraceSegmentDocuments {
			if _, err := xrayingest.Decode([]byte(d)); err != nil {
				var se *xrayingest.SegmentError
				errors.As(err, &se)
				out.UnprocessedTraceSegments = append(out.UnprocessedTraceSegments, unprocessed{se.ID, se.ErrorCode, se.Message})
			}
		}
		s.mu.Lock()
		s.calls = append(s.calls, in.TraceSegmentDocuments)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	case "/GetSamplingRules":
		s.mu.Lock()
		s.sampling = append(s.sampling, r)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"SamplingRuleRecords":[]}`)
	default:
		http.NotFound(w, r)
	}
}

func (s *xrayServer) docs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []string
	for _, c := range s.calls {
		all = append(all, c...)
	}
	return all
}

func TestForwarder(t *testing.T) {
	api := &xrayServer{}
	srv := httptest.NewServer(api)
	defer srv.Close()

	cfg := DefaultConfig()
	cfg.UDPAddress, cfg.TCPAddress, cfg.Endpoint = "127.0.0.1:0", "127.0.0.1:0", srv.URL
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.Transport.(*http.Transport).CloseIdleConnections()
	f, err := New(cfg, cfg.NewXRayClient(hc, nil), hc, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	f.flushIdle = 20 * time.Millisecond
	if err := f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := f.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	}()

	c, err := net.Dial("udp", f.UDPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 120
	for i := range n {
		send(t, c, segment(spanID(i)))
	}
	// A document the server rejects, and a datagram the forwarder rejects.
	send(t, c, `{"format":"json","version":1}`+"\n"+`{"trace_id":"1-5759e988-bd862e3fe1be46a994272793","id":"00000000000000ab","name":"bad*name","start_time":1,"end_time":2}`)
	send(t, c, "no header")

	eventually(t, "every document forwarded", func() bool { return len(api.docs()) == n+1 })
	api.mu.Lock()
	for _, call := range api.calls {
		if len(call) > forwardBatchSize {
			t.Errorf("a call with %d documents; the limit is %d", len(call), forwardBatchSize)
		}
	}
	if len(api.calls) < 3 {
		t.Errorf("%d calls for %d documents", len(api.calls), n+1)
	}
	api.mu.Unlock()
	// Documents travel unchanged (calls run in parallel, so in any order).
	sent := map[string]bool{}
	for _, d := range api.docs() {
		sent[d] = true
	}
	for i := range n {
		if want := strings.SplitN(segment(spanID(i)), "\n", 2)[1]; !sent[want] {
			t.Fatalf("document %s not sent unchanged", want)
		}
	}
	eventually(t, "the server's answer counted", func() bool {
		return testutil.ToFloat64(f.m.sent) == n && testutil.ToFloat64(f.m.unprocessed) == 1
	})
	if got := testutil.ToFloat64(f.m.rejected.WithLabelValues(xrayingest.ReasonNoHeader)); got != 1 {
		t.Errorf("rejected{no_header} = %v", got)
	}

	// Sampling calls pass through the TCP port, without the Connection header.
	req, _ := http.NewRequest(http.MethodPost, "http://"+f.TCPAddr().String()+"/GetSamplingRules", strings.NewReader(`{"NextToken":null}`))
	req.Header.Set("Connection", "keep-alive, X-Custom")
	req.Header.Set("X-Custom", "hop")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `{"SamplingRuleRecords":[]}` {
		t.Fatalf("proxied call: %d %s", resp.StatusCode, body)
	}
	api.mu.Lock()
	if len(api.sampling) != 1 {
		t.Fatalf("%d sampling calls reached the server", len(api.sampling))
	}
	if h := api.sampling[0].Header.Get("X-Custom"); h != "hop" {
		t.Errorf("X-Custom = %q: the Connection header should be dropped, not honoured", h)
	}
	api.mu.Unlock()
}

func TestForwarderShutdownSends(t *testing.T) {
	api := &xrayServer{}
	srv := httptest.NewServer(api)
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.UDPAddress, cfg.TCPAddress, cfg.Endpoint = "127.0.0.1:0", "127.0.0.1:0", srv.URL
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.Transport.(*http.Transport).CloseIdleConnections()
	f, err := New(cfg, cfg.NewXRayClient(hc, nil), hc, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown before Start: %v", err)
	}
	f, _ = New(cfg, cfg.NewXRayClient(hc, nil), hc, Settings{})
	f.flushIdle = time.Hour
	if err := f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("udp", f.UDPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 3 {
		send(t, c, segment(spanID(i)))
	}
	eventually(t, "3 datagrams read", func() bool { return testutil.ToFloat64(f.m.received) == 3 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(api.docs()); got != 3 {
		t.Fatalf("%d documents sent by Shutdown, want 3", got)
	}
}

// FuzzForwarderConfig feeds arbitrary config files to the parser: it never
// panics, and whatever it accepts is a valid configuration.
func FuzzForwarderConfig(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseArgs([]string{"-c", "fuzz.yaml"}, nil, func(string) ([]byte, error) { return data, nil })
		if err != nil {
			return
		}
		if verr := cfg.Validate(); verr != nil {
			t.Fatalf("accepted an invalid config: %v", verr)
		}
	})
}

func TestForwarderClients(t *testing.T) {
	var mu sync.Mutex
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"UnprocessedTraceSegments":[]}`)
	}))
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.Endpoint, cfg.Region = srv.URL, "eu-central-1"
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.Transport.(*http.Transport).CloseIdleConnections()

	put := func(creds aws.CredentialsProvider) {
		t.Helper()
		in := &xraysvc.PutTraceSegmentsInput{TraceSegmentDocuments: []string{`{}`}}
		if _, err := cfg.NewXRayClient(hc, creds).PutTraceSegments(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
	put(nil)
	put(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIDTRACECOMB", SecretAccessKey: "secret", Source: "test"}, nil
	}))
	mu.Lock()
	defer mu.Unlock()
	if len(auth) != 2 {
		t.Fatalf("%d calls", len(auth))
	}
	if auth[0] != "" {
		t.Errorf("unsigned call carries Authorization %q", auth[0])
	}
	if !strings.HasPrefix(auth[1], "AWS4-HMAC-SHA256 Credential=AKIDTRACECOMB/") || !strings.Contains(auth[1], "/eu-central-1/xray/aws4_request") {
		t.Errorf("signed call: Authorization %q", auth[1])
	}

	cfg.ProxyAddress, cfg.NoVerifySSL = "http://proxy.internal:3128", true
	tr := cfg.HTTPClient().Transport.(*http.Transport)
	req, _ := http.NewRequest(http.MethodPost, "https://tracecomb.example.com/TraceSegments", nil)
	if u, err := tr.Proxy(req); err != nil || u == nil || u.Host != "proxy.internal:3128" {
		t.Errorf("proxy = %v, %v", u, err)
	}
	if !tr.TLSClientConfig.InsecureSkipVerify {
		t.Error("NoVerifySSL not applied")
	}
}

// TestProxyTimeouts: the TCP port closes a connection whose request
// headers do not arrive in time, one whose body stalls, and an idle
// keep-alive connection (the limits are shortened here;
// defaultProxyTimeouts holds the real ones).
func TestProxyTimeouts(t *testing.T) {
	for name, d := range map[string]time.Duration{"ReadHeader": defaultProxyTimeouts.ReadHeader, "Read": defaultProxyTimeouts.Read,
		"Write": defaultProxyTimeouts.Write, "Idle": defaultProxyTimeouts.Idle} {
		if d <= 0 {
			t.Errorf("the TCP port has no %s timeout", name)
		}
	}
	srv := httptest.NewServer(&xrayServer{})
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.UDPAddress, cfg.TCPAddress, cfg.Endpoint = "127.0.0.1:0", "127.0.0.1:0", srv.URL
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.Transport.(*http.Transport).CloseIdleConnections()
	f, err := New(cfg, cfg.NewXRayClient(hc, nil), hc, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	f.timeouts = proxyTimeouts{ReadHeader: 200 * time.Millisecond, Read: 500 * time.Millisecond, Write: time.Second, Idle: 300 * time.Millisecond}
	if err := f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := f.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	}()
	// closed reports whether the server closed conn (rather than the
	// 20 s deadline passing), after sending it what the client sent.
	closed := func(what, sent string) {
		t.Helper()
		c, err := net.Dial("tcp", f.TCPAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := io.WriteString(c, sent); err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, c); err != nil {
			t.Errorf("%s: the connection stayed open: %v", what, err)
		}
	}
	closed("headers that never end", "POST /GetSamplingRules HTTP/1.1\r\nHost: x\r\n")
	closed("a body that stalls", "POST /GetSamplingRules HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
	closed("an idle keep-alive connection", "POST /GetSamplingRules HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
}
