package xray

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/sampling"
)

// X-Ray error codes.
const (
	CodeInvalidRequest        = "InvalidRequestException"
	CodeResourceNotFound      = "ResourceNotFoundException"
	CodeThrottled             = "ThrottledException"
	CodeRuleLimitExceeded     = "RuleLimitExceededException"
	CodeTooManyTags           = "TooManyTagsException"
	CodeUnknownOperation      = "UnknownOperationException"
	CodeInternalFailure       = "InternalFailure"
	CodeRequestTooLarge       = "RequestEntityTooLargeException"
	CodeMissingToken          = "MissingAuthenticationTokenException"
	CodeUnrecognizedClient    = "UnrecognizedClientException"
	CodeInvalidSignature      = "InvalidSignatureException"
	CodeIncompleteSignature   = "IncompleteSignatureException"
	CodeInvalidPolicyRevision = "InvalidPolicyRevisionIdException"
	CodeMalformedPolicy       = "MalformedPolicyDocumentException"
	CodePolicyCountLimit      = "PolicyCountLimitExceededException"
	CodePolicySizeLimit       = "PolicySizeLimitExceededException"
	headerErrorType           = "X-Amzn-ErrorType"
	headerRequestID           = "X-Amzn-RequestId"
	contentTypeJSON           = "application/json"
	defaultMaxBodyBytes       = 1 << 20
	defaultPageSize           = 100
	nextTokenPrefix           = "tc1:"
	maxNextTokenLen           = 100
	errMessageInternal        = "An internal error occurred while processing the request."
	errMessageUnknownOperate  = "Unknown operation"
)

// APIError is an error answered in X-Ray's shape: status, the
// X-Amzn-ErrorType header and {"Message": ...}.
type APIError struct {
	Status       int
	Code         string
	Message      string
	ResourceName string // ResourceNotFoundException, TooManyTagsException
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// InvalidRequest returns an InvalidRequestException (400).
func InvalidRequest(format string, args ...any) *APIError {
	return &APIError{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Message: fmt.Sprintf(format, args...)}
}

// Throttled returns a ThrottledException (429).
func Throttled() *APIError {
	return &APIError{Status: http.StatusTooManyRequests, Code: CodeThrottled, Message: "Rate exceeded"}
}

// toAPIError maps any error of an operation to its X-Ray form.
func toAPIError(err error) *APIError {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	var se *sampling.Error
	if errors.As(err, &se) {
		switch se.Kind {
		case sampling.NotFound:
			return &APIError{Status: http.StatusNotFound, Code: CodeResourceNotFound, Message: se.Message, ResourceName: se.ResourceName}
		case sampling.RuleLimitExceeded:
			return &APIError{Status: http.StatusBadRequest, Code: CodeRuleLimitExceeded, Message: se.Message}
		case sampling.TooManyTags:
			return &APIError{Status: http.StatusBadRequest, Code: CodeTooManyTags, Message: se.Message, ResourceName: se.ResourceName}
		case sampling.InvalidPolicyRevision:
			return &APIError{Status: http.StatusBadRequest, Code: CodeInvalidPolicyRevision, Message: se.Message}
		case sampling.MalformedPolicy:
			return &APIError{Status: http.StatusBadRequest, Code: CodeMalformedPolicy, Message: se.Message}
		case sampling.PolicyCountLimit:
			return &APIError{Status: http.StatusBadRequest, Code: CodePolicyCountLimit, Message: se.Message}
		case sampling.PolicySizeLimit:
			return &APIError{Status: http.StatusBadRequest, Code: CodePolicySizeLimit, Message: se.Message}
		default:
			return &APIError{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Message: se.Message}
		}
	}
	return &APIError{Status: http.StatusInternalServerError, Code: CodeInternalFailure, Message: errMessageInternal}
}

type errorBody struct {
	Message      string `json:"Message"`
	LowerMessage string `json:"message"`
	ResourceName string `json:"ResourceName,omitempty"`
}

// writeError sends e in X-Ray's error shape.
func writeError(w http.ResponseWriter, e *APIError) {
	w.Header().Set(headerErrorType, e.Code)
	writeJSON(w, e.Status, errorBody{Message: e.Message, LowerMessage: e.Message, ResourceName: e.ResourceName})
}

// writeJSON encodes v as the response body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		buf.Reset()
		status = http.StatusInternalServerError
		w.Header().Set(headerErrorType, CodeInternalFailure)
		_ = json.NewEncoder(&buf).Encode(errorBody{Message: errMessageInternal, LowerMessage: errMessageInternal})
	}
	w.Header().Set("Content-Type", contentTypeJSON)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// decode parses a request body into v. An empty body means {}. Type
// mismatches and malformed JSON are InvalidRequestExceptions naming the
// member.
func decode(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		body = []byte("{}")
	}
	if body[0] != '{' {
		return InvalidRequest("The request body must be a JSON object.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := te.Field
			if field == "" {
				field = "request"
			}
			return InvalidRequest("Invalid value for %s: expected %s, got JSON %s.", field, typeName(te.Type), te.Value)
		}
		return InvalidRequest("The request body is not valid JSON: %v", err)
	}
	if dec.More() {
		return InvalidRequest("The request body must hold exactly one JSON object.")
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err == nil {
		return InvalidRequest("The request body must hold exactly one JSON object.")
	}
	return nil
}

func typeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

// epoch renders a time as X-Ray does: epoch seconds as a JSON number,
// millisecond precision.
func epoch(t time.Time) float64 {
	return float64(t.UnixMilli()) / 1000
}

// page returns one page of items after the position in token, and the
// token of the next page (nil on the last page).
func page[T any](items []T, token *string, size int) ([]T, *string, error) {
	start := 0
	if token != nil {
		n, ok := parseToken(*token)
		if !ok || n > len(items) {
			return nil, nil, InvalidRequest("Invalid NextToken.")
		}
		start = n
	}
	end := min(start+size, len(items))
	var next *string
	if end < len(items) {
		t := base64.RawURLEncoding.EncodeToString([]byte(nextTokenPrefix + strconv.Itoa(end)))
		next = &t
	}
	out := items[start:end]
	if out == nil {
		out = []T{}
	}
	return out, next, nil
}

func parseToken(token string) (int, bool) {
	if token == "" || len(token) > maxNextTokenLen {
		return 0, false
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, false
	}
	s, ok := strings.CutPrefix(string(b), nextTokenPrefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}
