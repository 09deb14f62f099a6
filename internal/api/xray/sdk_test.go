package xray

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	xraysvc "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"
	"github.com/aws/aws-xray-sdk-go/daemoncfg"
	xraysampling "github.com/aws/aws-xray-sdk-go/strategy/sampling"

	"github.com/tracecomb/tracecomb/internal/sampling"
)

func goClient(url, key, secret string) *xraysvc.Client {
	return xraysvc.New(xraysvc.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}, nil
		}),
		RetryMaxAttempts: 1,
	})
}

// TestGoSDKv2 drives the handler with aws-sdk-go-v2's X-Ray client, signed
// with SigV4: integer members must decode into the SDK's int32 fields and
// errors into its typed exceptions.
func TestGoSDKv2(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hs := newHarness(t, func(c *Config) { c.DefaultEnv = "" })
	srv := signedServer(t, hs.h)
	c := goClient(srv.URL, testAccessKey, testSecret)

	created, err := c.CreateSamplingRule(ctx, &xraysvc.CreateSamplingRuleInput{SamplingRule: &types.SamplingRule{
		RuleName: aws.String("Cruddur"), ResourceARN: aws.String("*"), Priority: aws.Int32(9000), FixedRate: 0.1,
		ReservoirSize: 5, ServiceName: aws.String("backend-flask"), ServiceType: aws.String("*"), Host: aws.String("*"),
		HTTPMethod: aws.String("*"), URLPath: aws.String("*"), Version: aws.Int32(1),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if r := created.SamplingRuleRecord.SamplingRule; aws.ToInt32(r.Priority) != 9000 || r.ReservoirSize != 5 || aws.ToInt32(r.Version) != 1 || !created.SamplingRuleRecord.CreatedAt.Equal(t0) {
		t.Fatalf("created %+v", created.SamplingRuleRecord)
	}
	var recs []types.SamplingRuleRecord
	p := xraysvc.NewGetSamplingRulesPaginator(c, &xraysvc.GetSamplingRulesInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, out.SamplingRuleRecords...)
	}
	if len(recs) != 2 || aws.ToInt32(recs[1].SamplingRule.Priority) != 10000 || recs[1].SamplingRule.ReservoirSize != 1 || recs[1].CreatedAt.Unix() != 0 {
		t.Fatalf("rules %+v", recs)
	}

	targets, err := c.GetSamplingTargets(ctx, &xraysvc.GetSamplingTargetsInput{SamplingStatisticsDocuments: []types.SamplingStatisticsDocument{{
		ClientID: aws.String("0123456789abcdef01234567"), RuleName: aws.String("Cruddur"), Timestamp: aws.Time(t0),
		RequestCount: 100, SampledCount: 10, BorrowCount: 1,
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(targets.SamplingTargetDocuments) != 1 {
		t.Fatalf("targets %+v", targets)
	}
	tg := targets.SamplingTargetDocuments[0]
	if aws.ToInt32(tg.ReservoirQuota) != 5 || aws.ToInt32(tg.Interval) != 10 || tg.FixedRate != 0.1 || !tg.ReservoirQuotaTTL.Equal(t0.Add(300*time.Second)) || !targets.LastRuleModification.Equal(t0) {
		t.Fatalf("target %+v, last modification %v", tg, targets.LastRuleModification)
	}
	sums, err := c.GetSamplingStatisticSummaries(ctx, &xraysvc.GetSamplingStatisticSummariesInput{})
	if err != nil || len(sums.SamplingStatisticSummaries) != 1 || sums.SamplingStatisticSummaries[0].RequestCount != 100 {
		t.Fatalf("summaries %+v %v", sums, err)
	}

	// Typed errors.
	_, err = c.CreateSamplingRule(ctx, &xraysvc.CreateSamplingRuleInput{SamplingRule: &types.SamplingRule{
		RuleName: aws.String("Bad"), ResourceARN: aws.String("*"), Priority: aws.Int32(10000), FixedRate: 0.1,
		ServiceName: aws.String("*"), ServiceType: aws.String("*"), Host: aws.String("*"),
		HTTPMethod: aws.String("*"), URLPath: aws.String("*"), Version: aws.Int32(1),
	}})
	var ire *types.InvalidRequestException
	if !errors.As(err, &ire) || !strings.Contains(ire.ErrorMessage(), "samplingRule.priority") {
		t.Fatalf("want InvalidRequestException about priority, got %v", err)
	}
	_, err = c.TagResource(ctx, &xraysvc.TagResourceInput{ResourceARN: aws.String("arn:aws:xray:us-east-1:000000000000:group/none/X"), Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}})
	var rnf *types.ResourceNotFoundException
	if !errors.As(err, &rnf) || aws.ToString(rnf.ResourceName) != "arn:aws:xray:us-east-1:000000000000:group/none/X" {
		t.Fatalf("want ResourceNotFoundException, got %v", err)
	}
	g, err := c.CreateGroup(ctx, &xraysvc.CreateGroupInput{GroupName: aws.String("Cruddur"), FilterExpression: aws.String(`service("backend-flask")`),
		InsightsConfiguration: &types.InsightsConfiguration{InsightsEnabled: aws.Bool(true)}})
	if err != nil || !aws.ToBool(g.Group.InsightsConfiguration.InsightsEnabled) {
		t.Fatalf("create group %+v %v", g, err)
	}
	gp := xraysvc.NewGetGroupsPaginator(c, &xraysvc.GetGroupsInput{})
	var groups []types.GroupSummary
	for gp.HasMorePages() {
		out, err := gp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		groups = append(groups, out.Groups...)
	}
	if len(groups) != 2 || aws.ToString(groups[1].GroupARN) != aws.ToString(g.Group.GroupARN) {
		t.Fatalf("groups %+v", groups)
	}
	enc, err := c.GetEncryptionConfig(ctx, &xraysvc.GetEncryptionConfigInput{})
	if err != nil || enc.EncryptionConfig.Type != types.EncryptionTypeNone || enc.EncryptionConfig.Status != types.EncryptionStatusActive {
		t.Fatalf("encryption %+v %v", enc, err)
	}
	if _, err := c.PutTelemetryRecords(ctx, &xraysvc.PutTelemetryRecordsInput{TelemetryRecords: []types.TelemetryRecord{{Timestamp: aws.Time(t0), SegmentsReceivedCount: aws.Int32(1)}}}); err != nil {
		t.Fatal(err)
	}
	// A client with a key nobody issued.
	_, err = goClient(srv.URL, "AKIANOBODY0000000000", testSecret).GetSamplingRules(ctx, &xraysvc.GetSamplingRulesInput{})
	if err == nil || !strings.Contains(err.Error(), "UnrecognizedClientException") || !strings.Contains(err.Error(), "403") {
		t.Fatalf("unknown key: %v", err)
	}
}

// recorder keeps the answers the handler gives to one path.
type recorder struct {
	next http.Handler
	path string
	mu   sync.Mutex
	got  []string
	seen chan struct{}
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != rc.path {
		rc.next.ServeHTTP(w, r)
		return
	}
	rw := httptest.NewRecorder()
	rc.next.ServeHTTP(rw, r)
	for k, v := range rw.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rw.Code)
	body, _ := io.ReadAll(rw.Body)
	_, _ = io.Copy(w, bytes.NewReader(body))
	rc.mu.Lock()
	rc.got = append(rc.got, string(body))
	rc.mu.Unlock()
	select {
	case rc.seen <- struct{}{}:
	default:
	}
}

// TestXRaySDKCentralizedSampling points aws-xray-sdk-go's centralized
// sampler at the handler as its daemon (unsigned, fixed environment): it
// must fetch the rules, apply a FixedRate 0.5 / ReservoirSize 0 rule to
// about half of the requests and report statistics for targets.
func TestXRaySDKCentralizedSampling(t *testing.T) {
	t.Parallel()
	m, err := sampling.New(sampling.Config{Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Meta: m, DefaultEnv: "test"})
	if err != nil {
		t.Fatal(err)
	}
	half := `{"SamplingRule":{"RuleName":"Half","ResourceARN":"*","Priority":1,"FixedRate":0.5,"ReservoirSize":0,"ServiceName":"sdk-test","ServiceType":"*","Host":"*","HTTPMethod":"*","URLPath":"*","Version":1}}`
	rw := httptest.NewRecorder()
	h.ServeHTTP(rw, httptest.NewRequest(http.MethodPost, "/CreateSamplingRule", strings.NewReader(half)))
	if rw.Code != 200 {
		t.Fatal(rw.Body.String())
	}
	rec := &recorder{next: h, path: "/SamplingTargets", seen: make(chan struct{}, 1)}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	tcp := srv.Listener.Addr().(*net.TCPAddr)

	endpoints, err := daemoncfg.GetDaemonEndpointsFromString(fmt.Sprintf("tcp:127.0.0.1:%d udp:127.0.0.1:%d", tcp.Port, tcp.Port))
	if err != nil {
		t.Fatal(err)
	}
	strategy, err := xraysampling.NewCentralizedStrategy()
	if err != nil {
		t.Fatal(err)
	}
	strategy.LoadDaemonEndpoints(endpoints)
	req := &xraysampling.Request{Host: "localhost:4567", URL: "/api/activities/home", Method: "GET", ServiceName: "sdk-test"}

	// The first decision starts the pollers; wait for the rules to arrive.
	deadline := time.Now().Add(20 * time.Second)
	for {
		d := strategy.ShouldTrace(req)
		if d.Rule != nil && *d.Rule == "Half" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the SDK never applied rule Half from GetSamplingRules")
		}
		time.Sleep(20 * time.Millisecond)
	}
	const n = 4000
	sampled := 0
	for range n {
		d := strategy.ShouldTrace(req)
		if d.Rule == nil || *d.Rule != "Half" {
			t.Fatalf("decision by %v", d.Rule)
		}
		if d.Sample {
			sampled++
		}
	}
	if frac := float64(sampled) / n; frac < 0.45 || frac > 0.55 {
		t.Fatalf("sampled %d of %d under FixedRate 0.5", sampled, n)
	}
	other := strategy.ShouldTrace(&xraysampling.Request{Host: "x", URL: "/", Method: "GET", ServiceName: "other"})
	if other.Rule == nil || *other.Rule != "Default" {
		t.Fatalf("other service decided by %v, want Default", other.Rule)
	}

	// The target poller reports after about 10 s.
	select {
	case <-rec.seen:
	case <-time.After(30 * time.Second):
		t.Fatal("the SDK never called /SamplingTargets")
	}
	rec.mu.Lock()
	answer := rec.got[0]
	rec.mu.Unlock()
	if !strings.Contains(answer, `"RuleName":"Half","FixedRate":0.5,"ReservoirQuota":0`) || !strings.Contains(answer, `"Interval":10`) {
		t.Fatalf("targets answer %s", answer)
	}
	sums, err := m.StatisticSummaries(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	var requests, got int64
	for _, s := range sums {
		if s.RuleName == "Half" {
			requests += s.RequestCount
			got += s.SampledCount
		}
	}
	if requests < n || got < int64(sampled) {
		t.Fatalf("statistics for Half: %d requests, %d sampled; the SDK made %d decisions, sampled %d", requests, got, n, sampled)
	}
}
