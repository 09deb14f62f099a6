package sampling

import (
	"fmt"
	"strings"
)

// Kind classifies an *Error; the API layer maps it to an X-Ray error code.
type Kind int

// Error kinds.
const (
	// InvalidRequest: bad input, a duplicate, or (as X-Ray does for rules
	// and groups) a name that does not exist.
	InvalidRequest Kind = iota + 1
	// NotFound: a resource ARN that names nothing (tag operations).
	NotFound
	// RuleLimitExceeded: more user rules than Config.MaxRules.
	RuleLimitExceeded
	// TooManyTags: more tags on a resource than Config.MaxTags.
	TooManyTags
	// InvalidPolicyRevision: a PolicyRevisionId that does not match.
	InvalidPolicyRevision
	// MalformedPolicy: a policy document that is not a JSON object.
	MalformedPolicy
	// PolicyCountLimit: more resource policies than allowed.
	PolicyCountLimit
	// PolicySizeLimit: a policy document larger than allowed.
	PolicySizeLimit
)

// Error is a rejected request. Message is fit to send to the client as is.
type Error struct {
	Kind         Kind
	Message      string
	ResourceName string // for NotFound and TooManyTags
}

func (e *Error) Error() string { return e.Message }

func invalidf(format string, args ...any) *Error {
	return &Error{Kind: InvalidRequest, Message: fmt.Sprintf(format, args...)}
}

// violations collects model-constraint failures and renders them the way AWS
// services word validation errors.
type violations []string

func (v *violations) add(format string, args ...any) {
	*v = append(*v, fmt.Sprintf(format, args...))
}

func (v *violations) lenRange(path, val string, minLen, maxLen int) {
	n := len([]rune(val))
	if n < minLen {
		v.add("Value '%s' at '%s' failed to satisfy constraint: Member must have length greater than or equal to %d", val, path, minLen)
	}
	if maxLen >= 0 && n > maxLen {
		v.add("Value '%s' at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", truncate(val), path, maxLen)
	}
}

func (v *violations) required(path string) {
	v.add("Value null at '%s' failed to satisfy constraint: Member must not be null", path)
}

func (v violations) err() error {
	switch len(v) {
	case 0:
		return nil
	case 1:
		return &Error{Kind: InvalidRequest, Message: "1 validation error detected: " + v[0]}
	}
	return &Error{Kind: InvalidRequest, Message: fmt.Sprintf("%d validation errors detected: %s", len(v), strings.Join(v, "; "))}
}

func truncate(s string) string {
	r := []rune(s)
	if len(r) > 80 {
		return string(r[:80]) + "..."
	}
	return s
}
