package xray

import (
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/sampling"
)

// FuzzHandler posts arbitrary bodies to every registered path: the answer
// must never be a 5xx (a panic would surface as one) and every error must
// carry X-Amzn-ErrorType.
func FuzzHandler(f *testing.F) {
	clk := &fakeClock{t: t0}
	m, err := sampling.New(sampling.Config{Now: clk.Now, ValidateFilter: testFilter, MaxRules: 1000, StatsRetention: time.Minute})
	if err != nil {
		f.Fatal(err)
	}
	h, err := New(Config{Meta: m, DefaultEnv: "fuzz", MaxBodyBytes: 64 << 10})
	if err != nil {
		f.Fatal(err)
	}
	var paths []string
	for p := range h.Operations() {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	paths = append(paths, "/NoSuchOperation")
	seeds := []string{
		``, `{}`, `null`, `[]`, `{"NextToken":null}`, `{"NextToken":"dGMxOjE"}`, cruddurRule,
		ruleWith("Priority", `1e30`), ruleWith("FixedRate", `"x"`), ruleWith("Attributes", `{"a":null}`),
		`{"SamplingRuleUpdate":{"RuleName":"Default","FixedRate":1}}`,
		statsBody("Cruddur", "aaaaaaaaaaaaaaaaaaaaaaaa", float64(t0.Unix()), 5),
		statsBody("Default", "aaaaaaaaaaaaaaaaaaaaaaaa", 1e300, 5),
		`{"GroupName":"Cruddur","FilterExpression":"service(\"a\")","InsightsConfiguration":{"InsightsEnabled":true}}`,
		`{"ResourceARN":"arn:aws:xray:us-east-1:000000000000:sampling-rule/Default","Tags":[{"Key":"k","Value":"v"}]}`,
		`{"Type":"KMS","KeyId":"k"}`, `{"TelemetryRecords":[{"Timestamp":1}]}`, `{"InsightId":"12345678-1234-1234-1234-123456789012","StartTime":2,"EndTime":1}`,
		"{\"GroupName\":\"\xff\"}",
	}
	for i := range paths {
		for _, s := range seeds {
			f.Add(uint8(i), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, pathIdx uint8, body []byte) {
		path := paths[int(pathIdx)%len(paths)]
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(string(body)))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("POST %s %q -> %d %s", path, body, rec.Code, rec.Body)
		}
		if rec.Code != 200 && rec.Header().Get("X-Amzn-ErrorType") == "" {
			t.Fatalf("POST %s %q -> %d without X-Amzn-ErrorType", path, body, rec.Code)
		}
	})
}

func BenchmarkHandlerSamplingTargets(b *testing.B) {
	hs := newHarness(b, nil)
	if r := hs.post("/CreateSamplingRule", cruddurRule); r.status != 200 {
		b.Fatal(r)
	}
	body := statsBody("Cruddur", "aaaaaaaaaaaaaaaaaaaaaaaa", float64(t0.Unix()), 100)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		hs.h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/SamplingTargets", strings.NewReader(body)))
		if rec.Code != 200 {
			b.Fatal(rec.Body.String())
		}
	}
}

func BenchmarkHandlerGetSamplingRules(b *testing.B) {
	hs := newHarness(b, nil)
	if r := hs.post("/CreateSamplingRule", cruddurRule); r.status != 200 {
		b.Fatal(r)
	}
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		hs.h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/GetSamplingRules", strings.NewReader(`{"NextToken":null}`)))
		if rec.Code != 200 {
			b.Fatal(rec.Body.String())
		}
	}
}
