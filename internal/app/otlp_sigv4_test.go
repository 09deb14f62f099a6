package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	xraysvc "github.com/aws/aws-sdk-go-v2/service/xray"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracecomb/tracecomb/internal/model"
)

// sigV4Signer is an http.RoundTripper that signs every request with
// aws-sdk-go-v2's SigV4 signer before sending it, as the OpenTelemetry
// Collector's sigv4auth extension does for its otlphttp exporter: the
// body's SHA-256 as the payload hash, the configured signing name and
// region, the current time. Its fields let a test sign wrongly.
type sigV4Signer struct {
	creds    aws.Credentials
	service  string            // signing name: xray for traces, logs for logs
	region   string            // any region
	skew     time.Duration     // added to the signing time
	contentH bool              // also send (and sign) X-Amz-Content-Sha256
	next     http.RoundTripper // sends the signed request (nil: http.DefaultTransport)
}

func (s sigV4Signer) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	if s.contentH {
		r.Header.Set("X-Amz-Content-Sha256", hash)
	}
	if err := v4.NewSigner().SignHTTP(r.Context(), s.creds, r, hash, s.service, s.region, time.Now().Add(s.skew)); err != nil {
		return nil, err
	}
	if s.next != nil {
		return s.next.RoundTrip(r)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// awsPair returns a new AWS key pair of env, as `tracecomb keys create
// --aws` makes one, once the running app knows it.
func awsPair(t testing.TB, a *App, env string) aws.Credentials {
	t.Helper()
	rec, err := a.Registry().CreateAWSKey(env)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, _, ok := a.registry.LookupAWS(rec.AccessKeyID); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the registry never knew %s", rec.AccessKeyID)
		}
	}
	return aws.Credentials{AccessKeyID: rec.AccessKeyID, SecretAccessKey: rec.SecretAccessKey}
}

// recordSpans makes a server span of service with a client child and
// returns them ended, ready for an exporter.
func recordSpans(t *testing.T, service string) ([]sdktrace.ReadOnlySpan, trace.SpanContext) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	res := resource.NewSchemaless(semconv.ServiceName(service))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithResource(res))
	tr := tp.Tracer("checkout")
	ctx, root := tr.Start(context.Background(), "GET /cart", trace.WithSpanKind(trace.SpanKindServer))
	_, child := tr.Start(ctx, "SELECT carts", trace.WithSpanKind(trace.SpanKindClient))
	child.End()
	root.End()
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	return rec.Ended(), root.SpanContext()
}

// joinedTrace reads /api/traces/{id}, the view of both doors, and returns
// its events' doors and sources ("xray/otlp": count).
func joinedTrace(t *testing.T, base, key string, id model.TraceID, query string) map[string]int {
	t.Helper()
	var tr traceResponse
	getJSON(t, base+"/api/traces/"+id.String()+query, key, &tr)
	marks := map[string]int{}
	for _, ev := range tr.Events {
		marks[fmt.Sprint(ev["meta.tracecomb.door"])+"/"+fmt.Sprint(ev["meta.tracecomb.source"])]++
	}
	return marks
}

// TestSigV4OTLPTracesReachXRay: the OTel SDK's OTLP/HTTP exporter, its
// requests signed for X-Ray's OTLP endpoint (service xray) with a key pair
// of the environment, sends a trace to the API door's /v1/traces. The X-Ray
// API (aws-sdk-go-v2's client and the AWS CLI, signed too) returns it from
// BatchGetTraces and GetTraceSummaries; Honeycomb's API does not see it
// unless a query result asks for X-Ray's door.
func TestSigV4OTLPTracesReachXRay(t *testing.T) {
	t.Parallel() // its own process; mostly waits on it and the AWS CLI
	a, key := testApp(t, t.TempDir())
	base := "http://" + a.Addrs().HTTP
	creds := awsPair(t, a, "test")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	spans, sc := recordSpans(t, "checkout-otel")
	exp, err := otlptracehttp.New(ctx,
		otlptracehttp.WithEndpointURL(base+"/v1/traces"),
		otlptracehttp.WithCompression(otlptracehttp.GzipCompression),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}),
		otlptracehttp.WithHTTPClient(&http.Client{Transport: sigV4Signer{creds: creds, service: "xray", region: "us-east-1"}}),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.ExportSpans(ctx, spans); err != nil {
		t.Fatalf("signed export: %v", err)
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	tid := model.TraceID(sc.TraceID())

	client := xraysvc.New(xraysvc.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(base), RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil }),
	})
	got, err := client.BatchGetTraces(ctx, &xraysvc.BatchGetTracesInput{TraceIds: []string{tid.XRay()}})
	if err != nil {
		t.Fatalf("BatchGetTraces: %v", err)
	}
	if len(got.Traces) != 1 || len(got.Traces[0].Segments) == 0 {
		t.Fatalf("BatchGetTraces %+v (unprocessed %v), want the trace", got.Traces, got.UnprocessedTraceIds)
	}
	var docs []string
	for _, s := range got.Traces[0].Segments {
		docs = append(docs, aws.ToString(s.Document))
	}
	if all := strings.Join(docs, "\n"); !strings.Contains(all, `"checkout-otel"`) || !strings.Contains(all, "SELECT carts") {
		t.Errorf("segments %s, want checkout-otel's server span and its client call", all)
	}
	now := time.Now()
	sums, err := client.GetTraceSummaries(ctx, &xraysvc.GetTraceSummariesInput{StartTime: aws.Time(now.Add(-time.Hour)), EndTime: aws.Time(now.Add(time.Minute))})
	if err != nil {
		t.Fatalf("GetTraceSummaries: %v", err)
	}
	var ids []string
	for _, s := range sums.TraceSummaries {
		ids = append(ids, aws.ToString(s.Id))
	}
	if !slices.Equal(ids, []string{tid.XRay()}) {
		t.Errorf("trace summaries %v, want %s", ids, tid.XRay())
	}

	// The AWS CLI, signing with the same key pair, reads it back too.
	var cli struct {
		Traces []struct {
			Id       string
			Segments []struct{ Document string }
		}
	}
	runAWS(t, []string{"AWS_ACCESS_KEY_ID=" + creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + creds.SecretAccessKey, "AWS_DEFAULT_REGION=us-east-1"},
		base, &cli, "batch-get-traces", "--trace-ids", tid.XRay())
	if len(cli.Traces) != 1 || cli.Traces[0].Id != tid.XRay() || len(cli.Traces[0].Segments) != len(got.Traces[0].Segments) {
		t.Errorf("aws xray batch-get-traces: %+v, want the trace's %d segments", cli.Traces, len(got.Traces[0].Segments))
	}

	// A Honeycomb query reads it only when asked for X-Ray's door
	// (tracecomb's "doors"); by default it reads Honeycomb's, which has
	// nothing of it.
	spec := `{"calculations":[{"op":"COUNT"}],"filters":[{"column":"trace.trace_id","op":"=","value":"` + tid.String() + `"}],"time_range":3600}`
	if rows := doorQuery(t, base, key, "__all__", spec, `["xray"]`); len(rows) != 1 || rows[0]["COUNT"] != float64(2) {
		t.Errorf("query over X-Ray's door: %v, want COUNT 2", rows)
	}
	if rows := doorQuery(t, base, key, "__all__", spec, ""); len(rows) > 1 || len(rows) == 1 && rows[0]["COUNT"] != float64(0) {
		t.Errorf("query over Honeycomb's door: %v, want nothing", rows)
	}

	if marks := joinedTrace(t, base, key, tid, ""); marks["xray/otlp"] != 2 || len(marks) != 1 {
		t.Errorf("joined view %v, want the two spans from X-Ray's door", marks)
	}
	if marks := joinedTrace(t, base, key, tid, "?door=honeycomb"); len(marks) != 0 {
		t.Errorf("Honeycomb's door has %v of the signed trace", marks)
	}
	var datasets []struct{ Name string }
	getJSON(t, base+"/1/datasets", key, &datasets)
	for _, d := range datasets {
		if d.Name == "checkout-otel" {
			t.Errorf("Honeycomb's datasets %+v include the signed trace's service", datasets)
		}
	}
}

// signedJSONTrace is an OTLP/JSON traces request of one server span.
func signedJSONTrace(id model.TraceID, service string) []byte {
	now := time.Now().UnixNano()
	return fmt.Appendf(nil, `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":%q}}]},`+
		`"scopeSpans":[{"spans":[{"traceId":%q,"spanId":"00f067aa0ba902b7","name":"GET /","kind":2,`+
		`"startTimeUnixNano":"%d","endTimeUnixNano":"%d"}]}]}]}`, service, id.String(), now-int64(time.Millisecond), now)
}

// signedJSONLog is an OTLP/JSON logs request of one record inside trace id.
func signedJSONLog(id model.TraceID, service string) []byte {
	return fmt.Appendf(nil, `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":%q}}]},`+
		`"scopeLogs":[{"logRecords":[{"timeUnixNano":"%d","severityNumber":9,"severityText":"INFO","body":{"stringValue":"cart loaded"},`+
		`"traceId":%q,"spanId":"00f067aa0ba902b7"}]}]}]}`, service, time.Now().UnixNano(), id.String())
}

// TestSigV4OTLPAnswers: what each request to the API door's OTLP paths
// gets, signed well, badly or not at all, and where its data goes: AWS's
// 403s (X-Amzn-ErrorType and {"message": ...}) store nothing; a Honeycomb
// key keeps its door; logs are signed for CloudWatch Logs (service logs)
// and name their log group and stream.
func TestSigV4OTLPAnswers(t *testing.T) {
	a, key := testApp(t, t.TempDir())
	base := "http://" + a.Addrs().HTTP
	creds := awsPair(t, a, "test")
	revoked := awsPair(t, a, "test")
	if err := a.Registry().Revoke(revoked.AccessKeyID); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, _, ok := a.registry.LookupAWS(revoked.AccessKeyID); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the revoked key still works")
		}
	}
	wrongSecret := creds
	wrongSecret.SecretAccessKey = strings.Repeat("x", 40)
	unknown := aws.Credentials{AccessKeyID: "AKIAEXAMPLEUNKNOWN00", SecretAccessKey: creds.SecretAccessKey}
	withToken := creds
	withToken.SessionToken = "session-token"

	logHeaders := map[string]string{"x-aws-log-group": "cruddur", "x-aws-log-stream": "backend"}
	for i, c := range []struct {
		name    string
		path    string
		logs    bool              // a logs body
		signer  *sigV4Signer      // nil: sent as is
		headers map[string]string // set before signing
		tamper  bool              // body changed after signing
		body    string            // replaces the body (before signing)

		status   int
		errType  string // X-Amzn-ErrorType
		message  string // in the body
		wantDoor string // where the data is: "xray", "honeycomb" or "" (nowhere)
	}{
		{name: "signed for xray", path: "/v1/traces", signer: &sigV4Signer{creds: creds, service: "xray", region: "us-east-1"},
			status: 200, wantDoor: "xray"},
		{name: "another region, X-Amz-Content-Sha256 signed", path: "/v1/traces", signer: &sigV4Signer{creds: creds, service: "xray", region: "eu-west-1", contentH: true},
			status: 200, wantDoor: "xray"},
		{name: "a session token", path: "/v1/traces/", signer: &sigV4Signer{creds: withToken, service: "xray", region: "us-west-2"},
			status: 200, wantDoor: "xray"},
		{name: "unsigned, X-Amz-Date only", path: "/v1/traces", headers: map[string]string{"X-Amz-Date": "20260101T000000Z"},
			status: 403, errType: "MissingAuthenticationTokenException", message: "Missing Authentication Token"},
		{name: "not SigV4", path: "/v1/traces", headers: map[string]string{"Authorization": "Bearer abc"},
			status: 403, errType: "IncompleteSignatureException", message: "AWS4-HMAC-SHA256"},
		{name: "incomplete", path: "/v1/traces", headers: map[string]string{"Authorization": "AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/xray/aws4_request", "X-Amz-Date": "20260101T000000Z"},
			status: 403, errType: "IncompleteSignatureException", message: "'Signature'"},
		{name: "wrong secret", path: "/v1/traces", signer: &sigV4Signer{creds: wrongSecret, service: "xray", region: "us-east-1"},
			status: 403, errType: "InvalidSignatureException", message: "signature we calculated does not match"},
		{name: "unknown key", path: "/v1/traces", signer: &sigV4Signer{creds: unknown, service: "xray", region: "us-east-1"},
			status: 403, errType: "UnrecognizedClientException", message: "security token included in the request is invalid"},
		{name: "revoked key", path: "/v1/traces", signer: &sigV4Signer{creds: revoked, service: "xray", region: "us-east-1"},
			status: 403, errType: "UnrecognizedClientException", message: "security token included in the request is invalid"},
		{name: "signed an hour ago", path: "/v1/traces", signer: &sigV4Signer{creds: creds, service: "xray", region: "us-east-1", skew: -time.Hour},
			status: 403, errType: "InvalidSignatureException", message: "Signature expired"},
		{name: "signed an hour ahead", path: "/v1/traces", signer: &sigV4Signer{creds: creds, service: "xray", region: "us-east-1", skew: time.Hour},
			status: 403, errType: "InvalidSignatureException", message: "Signature not yet current"},
		{name: "traces signed for logs", path: "/v1/traces", signer: &sigV4Signer{creds: creds, service: "logs", region: "us-east-1"},
			status: 403, errType: "InvalidSignatureException", message: "scoped to correct service: 'xray'"},
		{name: "body changed after signing", path: "/v1/traces", signer: &sigV4Signer{creds: creds, service: "xray", region: "us-east-1"}, tamper: true,
			status: 403, errType: "InvalidSignatureException", message: "signature we calculated does not match"},
		{name: "signed bad body", path: "/v1/traces", signer: &sigV4Signer{creds: creds, service: "xray", region: "us-east-1"}, body: `{"resourceSpans": 7}`,
			status: 400, message: "failed to parse OTLP request body"},
		{name: "a Honeycomb key beside X-Amz-Date", path: "/v1/traces", headers: map[string]string{"X-Honeycomb-Team": key, "X-Amz-Date": "20260101T000000Z"},
			status: 200, wantDoor: "honeycomb"},
		{name: "neither key nor signature", path: "/v1/traces",
			status: 401, message: "missing 'x-honeycomb-team' header"},
		{name: "logs signed for logs", path: "/v1/logs", logs: true, signer: &sigV4Signer{creds: creds, service: "logs", region: "us-east-1"}, headers: logHeaders,
			status: 200, wantDoor: "xray"},
		{name: "logs signed for xray", path: "/v1/logs", logs: true, signer: &sigV4Signer{creds: creds, service: "xray", region: "us-east-1"}, headers: logHeaders,
			status: 403, errType: "InvalidSignatureException", message: "scoped to correct service: 'logs'"},
		{name: "logs without a log group", path: "/v1/logs", logs: true, signer: &sigV4Signer{creds: creds, service: "logs", region: "us-east-1"},
			headers: map[string]string{"x-aws-log-stream": "backend"},
			status:  400, errType: "InvalidParameterException", message: "x-aws-log-group"},
		{name: "signed, a path under /v1/traces/", path: "/v1/traces/v1/traces", signer: &sigV4Signer{creds: creds, service: "xray", region: "us-east-1"},
			status: 404, errType: "UnknownOperationException", message: "the SDK appends /v1/traces itself"},
		{name: "signed metrics", path: "/v1/metrics", signer: &sigV4Signer{creds: creds, service: "xray", region: "us-east-1"}, body: `{}`,
			status: 404, errType: "UnknownOperationException", message: "x-honeycomb-team"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var id model.TraceID
			id[0], id[15] = 0x5a, byte(i+1)
			body := signedJSONTrace(id, "signed-door")
			if c.logs {
				body = signedJSONLog(id, "signed-door")
			}
			if c.body != "" {
				body = []byte(c.body)
			}
			req, _ := http.NewRequest("POST", base+c.path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			for k, v := range c.headers {
				req.Header.Set(k, v)
			}
			var rt http.RoundTripper = http.DefaultTransport
			if c.signer != nil {
				s := *c.signer
				if c.tamper {
					s.next = tamperer{}
				}
				rt = s
			}
			resp, err := (&http.Client{Transport: rt}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status || resp.Header.Get("X-Amzn-ErrorType") != c.errType || !strings.Contains(string(got), c.message) {
				t.Errorf("%d %q %s, want %d %q with %q", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), got, c.status, c.errType, c.message)
			}
			if c.errType != "" {
				var msg struct{ Message string }
				if json.Unmarshal(got, &msg) != nil || msg.Message == "" {
					t.Errorf("body %s, want AWS's {\"message\": ...}", got)
				}
			}
			marks := joinedTrace(t, base, key, id, "")
			switch want := c.wantDoor; want {
			case "":
				if len(marks) != 0 {
					t.Errorf("stored %v, want nothing", marks)
				}
			default:
				if len(marks) != 1 || marks[want+"/otlp"] != 1 {
					t.Errorf("stored %v, want one event from %s's door", marks, want)
				}
			}
		})
	}

	// Honeycomb's API sees none of what came in signed.
	var datasets []struct{ Name string }
	getJSON(t, base+"/1/datasets", key, &datasets)
	if len(datasets) != 1 || datasets[0].Name != "signed-door" {
		t.Errorf("Honeycomb's datasets %+v, want only the one sent with a Honeycomb key", datasets)
	}
	if n := eventsQueryCount(t, base, key, "signed-door"); n != 1 {
		t.Errorf("Honeycomb's COUNT of signed-door %v, want 1 (the request with a Honeycomb key)", n)
	}
}

// tamperer appends a byte to the body of a request and sends it.
type tamperer struct{}

func (t tamperer) RoundTrip(req *http.Request) (*http.Response, error) {
	b, _ := io.ReadAll(req.Body)
	req.Body.Close()
	b = append(b, ' ')
	r := req.Clone(req.Context())
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	return http.DefaultTransport.RoundTrip(r)
}

// TestSigV4OTLPRejectLogged: a signed request refused for its signature is
// named in the server's log, with its error type.
func TestSigV4OTLPRejectLogged(t *testing.T) {
	var logs syncBuffer
	a := startAPIDoor(t, slog.New(slog.NewTextHandler(&logs, nil)))
	creds := awsPair(t, a, "test")
	creds.SecretAccessKey = strings.Repeat("y", 40)
	var id model.TraceID
	id[0] = 0x7b
	req, _ := http.NewRequest("POST", "http://"+a.Addrs().HTTP+"/v1/traces", bytes.NewReader(signedJSONTrace(id, "svc")))
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Transport: sigV4Signer{creds: creds, service: "xray", region: "us-east-1"}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want 403", resp.StatusCode)
	}
	if out := logs.String(); !strings.Contains(out, "rejected a signed OTLP request") || !strings.Contains(out, "error_type=InvalidSignatureException") {
		t.Errorf("log %s, want the refused request with its error type", out)
	}
}

// startAPIDoor starts tracecomb in-process with only the API door, logging
// to logger.
func startAPIDoor(tb testing.TB, logger *slog.Logger) *App {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.DataDir = tb.TempDir()
	cfg.HTTPAddr, cfg.OTLPGRPCAddr, cfg.XRayAddr, cfg.UIAddr = "127.0.0.1:0", "", "", ""
	a, err := New(context.Background(), cfg, logger, io.Discard)
	if err != nil {
		tb.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := a.Shutdown(context.Background()); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
	})
	return a
}

// FuzzSigV4OTLPDoor sends OTLP requests to the API door whose
// Authorization and X-Amz-Date headers are arbitrary, either alone or put
// in place of a valid signature's: none is accepted (a forged or altered
// signature never passes), none gets a 5xx, and every refusal of the
// signed door is AWS's (X-Amzn-ErrorType).
func FuzzSigV4OTLPDoor(f *testing.F) {
	a := startAPIDoor(f, slog.New(slog.DiscardHandler))
	creds := awsPair(f, a, "test")
	base := "http://" + a.Addrs().HTTP
	paths := []string{"/v1/traces", "/v1/logs", "/v1/metrics", "/v1/traces/"}
	good := "AWS4-HMAC-SHA256 Credential=" + creds.AccessKeyID + "/20260101/us-east-1/xray/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + strings.Repeat("0", 64)
	for _, s := range []struct {
		authz, date string
		sign        bool
	}{
		{good, "20260101T000000Z", false}, {good, "", true}, {"", "20260101T000000Z", true}, {"AWS4-HMAC-SHA256", "", false},
		{"AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request,SignedHeaders=,Signature=x", "x", false}, {"Bearer t", "", true},
		{"AWS4-HMAC-SHA256 Credential=" + creds.AccessKeyID + "/20260101/us-east-1/xray/aws4_request, SignedHeaders=content-length;host, Signature=ab", "20260101T000000Z", true},
	} {
		for i := range paths {
			f.Add(uint8(i), s.authz, s.date, s.sign, []byte(`{"resourceSpans":[]}`))
		}
	}
	client := &http.Client{}
	f.Fuzz(func(t *testing.T, pathIdx uint8, authz, date string, sign bool, body []byte) {
		if authz == "" && date == "" {
			return // not a signed request: Honeycomb's door
		}
		path := paths[int(pathIdx)%len(paths)]
		req, err := http.NewRequest("POST", base+path, bytes.NewReader(body))
		if err != nil {
			t.Skip()
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Aws-Log-Group", "g")
		req.Header.Set("X-Aws-Log-Stream", "s")
		if sign {
			service := "xray"
			if strings.HasPrefix(path, "/v1/logs") {
				service = "logs"
			}
			sum := sha256.Sum256(body)
			if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
				t.Fatal(err)
			}
			// Header values arrive without surrounding blanks.
			same := func(v, signed string) bool { return v == "" || strings.Trim(v, " \t") == signed }
			if same(authz, req.Header.Get("Authorization")) && same(date, req.Header.Get("X-Amz-Date")) {
				return // nothing replaced
			}
		}
		for name, v := range map[string]string{"Authorization": authz, "X-Amz-Date": date} {
			if v != "" {
				req.Header[name] = []string{v}
			}
		}
		resp, err := client.Do(req)
		if err != nil {
			return // a header value net/http refuses to send
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
			t.Fatalf("%s Authorization %q X-Amz-Date %q accepted: %s", path, authz, date, got)
		case resp.StatusCode >= 500:
			t.Fatalf("%s Authorization %q X-Amz-Date %q: %d %s", path, authz, date, resp.StatusCode, got)
		case resp.Header.Get("X-Amzn-ErrorType") == "":
			t.Fatalf("%s Authorization %q X-Amz-Date %q: %d without X-Amzn-ErrorType: %s", path, authz, date, resp.StatusCode, got)
		}
	})
}
