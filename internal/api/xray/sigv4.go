package xray

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// CredentialStore finds the secret of an AWS-style access key and the
// environment the key belongs to (implemented by the app's auth package).
type CredentialStore interface {
	Lookup(accessKeyID string) (secret, env string, ok bool)
}

// SigV4Config configures the SigV4 verification middleware.
type SigV4Config struct {
	Credentials CredentialStore // required
	// Service is the signing name expected in the credential scope
	// (default "xray").
	Service string
	// MaxSkew is how far X-Amz-Date may be from now (default 15 min).
	MaxSkew time.Duration
	// MaxBodyBytes bounds the body read to hash it (default 1 MiB);
	// larger requests get RequestEntityTooLargeException.
	MaxBodyBytes int64
	// Now is the clock (default time.Now).
	Now func() time.Time
}

const (
	sigAlgorithm     = "AWS4-HMAC-SHA256"
	amzDateFormat    = "20060102T150405Z"
	msgMissingToken  = "Missing Authentication Token"
	msgUnknownKey    = "The security token included in the request is invalid."
	msgBadSignature  = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	defaultMaxSkew   = 15 * time.Minute
	defaultSigningNm = "xray"
)

// SigV4 returns middleware that accepts only requests signed with AWS
// Signature Version 4 by a key the CredentialStore knows, and passes them
// on with the key's environment in the context (WithEnv). The signature is
// recomputed with the AWS SDK's signer over a copy of the request holding
// only the signed headers, and compared in constant time. Failures get
// AWS's 403 answers: MissingAuthenticationTokenException,
// IncompleteSignatureException, UnrecognizedClientException,
// InvalidSignatureException (also for an expired signature).
func SigV4(cfg SigV4Config, next http.Handler) (http.Handler, error) {
	if cfg.Credentials == nil {
		return nil, errors.New("xray: SigV4Config.Credentials is required")
	}
	if cfg.Service == "" {
		cfg.Service = defaultSigningNm
	}
	if cfg.MaxSkew <= 0 {
		cfg.MaxSkew = defaultMaxSkew
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = defaultMaxBodyBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &sigV4{cfg: cfg, signer: v4.NewSigner(), next: next}, nil
}

type sigV4 struct {
	cfg    SigV4Config
	signer *v4.Signer
	next   http.Handler
}

func forbidden(code, msg string) *APIError {
	return &APIError{Status: http.StatusForbidden, Code: code, Message: msg}
}

// authHeader is a parsed Authorization header.
type authHeader struct {
	accessKey, date, region, service string
	signedHeaders                    []string
	signature                        string
}

func parseAuthorization(h string) (authHeader, *APIError) {
	var a authHeader
	alg, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || alg != sigAlgorithm {
		return a, forbidden(CodeIncompleteSignature, fmt.Sprintf("Authorization header requires the %s algorithm with 'Credential', 'SignedHeaders' and 'Signature' parameters. Authorization=%s", sigAlgorithm, truncateHeader(h)))
	}
	var missing []string
	params := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok {
			params[k] = v
		}
	}
	for _, k := range []string{"Credential", "SignedHeaders", "Signature"} {
		if params[k] == "" {
			missing = append(missing, fmt.Sprintf("Authorization header requires '%s' parameter.", k))
		}
	}
	if len(missing) > 0 {
		return a, forbidden(CodeIncompleteSignature, strings.Join(missing, " ")+" Authorization="+truncateHeader(h))
	}
	scope := strings.Split(params["Credential"], "/")
	if len(scope) != 5 || scope[0] == "" || scope[4] != "aws4_request" {
		return a, forbidden(CodeIncompleteSignature, fmt.Sprintf("Credential should be scoped to a valid region, not '%s'. Credential must have the form <AccessKeyId>/<date>/<region>/<service>/aws4_request.", params["Credential"]))
	}
	a.accessKey, a.date, a.region, a.service = scope[0], scope[1], scope[2], scope[3]
	a.signedHeaders = strings.Split(params["SignedHeaders"], ";")
	a.signature = params["Signature"]
	return a, nil
}

func truncateHeader(h string) string {
	if len(h) > 200 {
		return h[:200] + "..."
	}
	return h
}

func (s *sigV4) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	env, apiErr := s.verify(r)
	if apiErr != nil {
		w.Header().Set(headerRequestID, newUUID())
		writeError(w, apiErr)
		return
	}
	s.next.ServeHTTP(w, r.WithContext(WithEnv(r.Context(), env)))
}

func (s *sigV4) verify(r *http.Request) (string, *APIError) {
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return "", forbidden(CodeMissingToken, msgMissingToken)
	}
	a, apiErr := parseAuthorization(authz)
	if apiErr != nil {
		return "", apiErr
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate == "" {
		return "", forbidden(CodeIncompleteSignature, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization="+truncateHeader(authz))
	}
	signTime, err := time.Parse(amzDateFormat, amzDate)
	if err != nil {
		return "", forbidden(CodeIncompleteSignature, fmt.Sprintf("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", amzDate))
	}
	if a.date != signTime.Format("20060102") {
		return "", forbidden(CodeInvalidSignature, fmt.Sprintf("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", a.date, signTime.Format("20060102"), amzDate))
	}
	if a.service != s.cfg.Service {
		return "", forbidden(CodeInvalidSignature, fmt.Sprintf("Credential should be scoped to correct service: '%s'.", s.cfg.Service))
	}
	secret, env, ok := s.cfg.Credentials.Lookup(a.accessKey)
	if !ok {
		return "", forbidden(CodeUnrecognizedClient, msgUnknownKey)
	}
	now := s.cfg.Now().UTC()
	skewMin := int(s.cfg.MaxSkew / time.Minute)
	if d := now.Sub(signTime); d > s.cfg.MaxSkew {
		return "", forbidden(CodeInvalidSignature, fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %d min.)",
			amzDate, now.Add(-s.cfg.MaxSkew).Format(amzDateFormat), now.Format(amzDateFormat), skewMin))
	} else if -d > s.cfg.MaxSkew {
		return "", forbidden(CodeInvalidSignature, fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + %d min.)",
			amzDate, now.Add(s.cfg.MaxSkew).Format(amzDateFormat), now.Format(amzDateFormat), skewMin))
	}

	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return "", &APIError{Status: http.StatusRequestEntityTooLarge, Code: CodeRequestTooLarge, Message: fmt.Sprintf("Request body is larger than the limit of %d bytes.", s.cfg.MaxBodyBytes)}
		}
		return "", InvalidRequest("Cannot read the request body.")
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	want, err := s.expectedSignature(r, a, body, secret, signTime)
	if err != nil || subtle.ConstantTimeCompare([]byte(want), []byte(a.signature)) != 1 {
		return "", forbidden(CodeInvalidSignature, msgBadSignature)
	}
	return env, nil
}

// expectedSignature signs a copy of r that carries only the headers the
// client signed and returns the signature the SDK's signer computes.
func (s *sigV4) expectedSignature(r *http.Request, a authHeader, body []byte, secret string, signTime time.Time) (string, error) {
	u := *r.URL
	cp, err := http.NewRequestWithContext(context.Background(), r.Method, u.String(), nil)
	if err != nil {
		return "", err
	}
	cp.URL = &u
	cp.Host = r.Host
	cp.Header = http.Header{}
	signedLength := false
	for _, name := range a.signedHeaders {
		switch strings.ToLower(name) {
		case "host":
		case "content-length":
			signedLength = true
		default:
			if vals, ok := r.Header[http.CanonicalHeaderKey(name)]; ok {
				cp.Header[http.CanonicalHeaderKey(name)] = vals
			} else {
				// A signed header that is absent cannot verify.
				return "", errors.New("signed header missing")
			}
		}
	}
	if signedLength {
		cp.ContentLength = int64(len(body))
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: a.accessKey, SecretAccessKey: secret}
	if err := s.signer.SignHTTP(context.Background(), creds, cp, hex.EncodeToString(sum[:]), a.service, a.region, signTime,
		func(o *v4.SignerOptions) { o.DisableSessionToken = true }); err != nil {
		return "", err
	}
	got, apiErr := parseAuthorization(cp.Header.Get("Authorization"))
	if apiErr != nil {
		return "", apiErr
	}
	if strings.Join(got.signedHeaders, ";") != strings.Join(a.signedHeaders, ";") {
		return "", errors.New("signed header set differs")
	}
	return got.signature, nil
}
