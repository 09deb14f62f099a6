package xray

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// echoEnv answers with the environment the middleware put in the context
// and the body it passed on.
var echoEnv = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	env, _ := EnvFrom(r.Context())
	b, _ := io.ReadAll(r.Body)
	w.Write([]byte(env + "|" + string(b)))
})

func signedRequest(t *testing.T, body string, key, secret, token, service string, at time.Time, mutate func(*http.Request)) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:4318/GetSamplingRules", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256([]byte(body))
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret, SessionToken: token},
		r, hex.EncodeToString(sum[:]), service, "us-east-1", at)
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(r)
	}
	return r
}

func TestSigV4(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	mw, err := SigV4(SigV4Config{Credentials: staticCreds{testAccessKey: {testSecret, "prod"}}, Now: func() time.Time { return now }}, echoEnv)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"NextToken":null}`
	sign := func(key, secret, token, service string, at time.Time, mutate func(*http.Request)) *http.Request {
		return signedRequest(t, body, key, secret, token, service, at, mutate)
	}
	tests := []struct {
		name   string
		req    *http.Request
		status int
		code   string
		msg    string
	}{
		{"valid", sign(testAccessKey, testSecret, "", "xray", now, nil), 200, "", "prod|" + body},
		{"valid with session token", sign(testAccessKey, testSecret, "session", "xray", now.Add(-10*time.Minute), nil), 200, "", "prod|"},
		{"unsigned", httptest.NewRequest(http.MethodPost, "/GetSamplingRules", strings.NewReader(body)), 403, CodeMissingToken, "Missing Authentication Token"},
		{"other scheme", sign(testAccessKey, testSecret, "", "xray", now, func(r *http.Request) { r.Header.Set("Authorization", "Bearer abc") }), 403, CodeIncompleteSignature, "AWS4-HMAC-SHA256"},
		{"no signature", sign(testAccessKey, testSecret, "", "xray", now, func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:strings.Index(a, ", Signature=")])
		}), 403, CodeIncompleteSignature, "Authorization header requires 'Signature' parameter."},
		{"bad credential", sign(testAccessKey, testSecret, "", "xray", now, func(r *http.Request) {
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIA/20261125, SignedHeaders=host, Signature=00")
		}), 403, CodeIncompleteSignature, "Credential must have the form"},
		{"no date", sign(testAccessKey, testSecret, "", "xray", now, func(r *http.Request) { r.Header.Del("X-Amz-Date") }), 403, CodeIncompleteSignature, "'X-Amz-Date'"},
		{"unknown key", sign("AKIAUNKNOWN000000000", testSecret, "", "xray", now, nil), 403, CodeUnrecognizedClient, "The security token included in the request is invalid."},
		{"wrong secret", sign(testAccessKey, "wrong", "", "xray", now, nil), 403, CodeInvalidSignature, msgBadSignature},
		{"body changed", sign(testAccessKey, testSecret, "", "xray", now, func(r *http.Request) { r.Body = io.NopCloser(strings.NewReader(`{}`)) }), 403, CodeInvalidSignature, msgBadSignature},
		{"signed header changed", sign(testAccessKey, testSecret, "", "xray", now, func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }), 403, CodeInvalidSignature, msgBadSignature},
		{"signed header removed", sign(testAccessKey, testSecret, "", "xray", now, func(r *http.Request) { r.Header.Del("Content-Type") }), 403, CodeInvalidSignature, msgBadSignature},
		{"path changed", sign(testAccessKey, testSecret, "", "xray", now, func(r *http.Request) { r.URL.Path = "/Groups" }), 403, CodeInvalidSignature, msgBadSignature},
		{"expired", sign(testAccessKey, testSecret, "", "xray", now.Add(-16*time.Minute), nil), 403, CodeInvalidSignature,
			"Signature expired: 20261125T114400Z is now earlier than 20261125T114500Z (20261125T120000Z - 15 min.)"},
		{"from the future", sign(testAccessKey, testSecret, "", "xray", now.Add(16*time.Minute), nil), 403, CodeInvalidSignature,
			"Signature not yet current: 20261125T121600Z is still later than 20261125T121500Z (20261125T120000Z + 15 min.)"},
		{"other service", sign(testAccessKey, testSecret, "", "s3", now, nil), 403, CodeInvalidSignature, "Credential should be scoped to correct service: 'xray'."},
		{"scope date differs", sign(testAccessKey, testSecret, "", "xray", now, func(r *http.Request) { r.Header.Set("X-Amz-Date", "20261124T235959Z") }), 403, CodeInvalidSignature, "Date in Credential scope does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			mw.ServeHTTP(rec, tt.req)
			if rec.Code != tt.status || rec.Header().Get("X-Amzn-ErrorType") != tt.code {
				t.Fatalf("got %d %q %s, want %d %q", rec.Code, rec.Header().Get("X-Amzn-ErrorType"), rec.Body, tt.status, tt.code)
			}
			if tt.code == "" {
				if !strings.HasPrefix(rec.Body.String(), tt.msg) {
					t.Fatalf("body %q, want prefix %q", rec.Body, tt.msg)
				}
				return
			}
			var e struct{ Message string }
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || !strings.Contains(e.Message, tt.msg) {
				t.Fatalf("message %q, want %q", e.Message, tt.msg)
			}
			if rec.Header().Get("X-Amzn-RequestId") == "" {
				t.Fatal("no request id")
			}
		})
	}
}

func BenchmarkSigV4(b *testing.B) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	mw, _ := SigV4(SigV4Config{Credentials: staticCreds{testAccessKey: {testSecret, "prod"}}, Now: func() time.Time { return now }}, echoEnv)
	t := &testing.T{}
	body := `{"SamplingStatisticsDocuments":[]}`
	proto := signedRequest(t, body, testAccessKey, testSecret, "", "xray", now, nil)
	b.ReportAllocs()
	for b.Loop() {
		r := proto.Clone(context.Background())
		r.Body = io.NopCloser(strings.NewReader(body))
		rec := httptest.NewRecorder()
		mw.ServeHTTP(rec, r)
		if rec.Code != 200 {
			b.Fatal(rec.Body.String())
		}
	}
}
