package sampling

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Resource policy limits (X-Ray quotas).
const (
	maxPolicies     = 5
	maxPolicyBytes  = 5 << 10
	maxPolicyName   = 128
	createOnlyRevID = "0"
)

var policyNamePattern = regexp.MustCompile(`^[\w+=,.@-]+$`)

// Policy is an X-Ray resource policy. It is stored and listed; nothing
// enforces it.
type Policy struct {
	PolicyName       string    `json:"PolicyName"`
	PolicyDocument   string    `json:"PolicyDocument"`
	PolicyRevisionID string    `json:"PolicyRevisionId"`
	LastUpdatedTime  time.Time `json:"LastUpdatedTime"`
}

func validatePolicyName(name *string) error {
	var v violations
	if name == nil {
		v.required("policyName")
		return v.err()
	}
	v.lenRange("policyName", *name, 1, maxPolicyName)
	if *name != "" && !policyNamePattern.MatchString(*name) {
		v.add("Value '%s' at 'policyName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", truncate(*name))
	}
	return v.err()
}

// PutResourcePolicy creates or replaces a policy. revisionID, when given,
// must match the current revision ("0" means the policy must not exist).
func (m *Manager) PutResourcePolicy(ctx context.Context, env string, name, document, revisionID *string) (Policy, error) {
	if err := validatePolicyName(name); err != nil {
		return Policy{}, err
	}
	if document == nil {
		var v violations
		v.required("policyDocument")
		return Policy{}, v.err()
	}
	if len(*document) > maxPolicyBytes {
		return Policy{}, &Error{Kind: PolicySizeLimit, Message: fmt.Sprintf("The policy document is %d bytes; a resource policy may be at most %d bytes.", len(*document), maxPolicyBytes)}
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(*document), &doc); err != nil {
		return Policy{}, &Error{Kind: MalformedPolicy, Message: fmt.Sprintf("The policy document is not a JSON object: %v", err)}
	}
	var out Policy
	err := m.mutate(env, func(st *envState) error {
		cur, exists := st.policies[*name]
		if revisionID != nil {
			switch {
			case *revisionID == createOnlyRevID && exists:
				return &Error{Kind: InvalidPolicyRevision, Message: fmt.Sprintf("Policy %s already exists; revision id 0 only creates.", *name)}
			case *revisionID != createOnlyRevID && (!exists || cur.PolicyRevisionID != *revisionID):
				return &Error{Kind: InvalidPolicyRevision, Message: fmt.Sprintf("Revision id %s does not match the current revision of policy %s.", *revisionID, *name)}
			}
		}
		if !exists && len(st.policies) >= maxPolicies {
			return &Error{Kind: PolicyCountLimit, Message: fmt.Sprintf("An account may have at most %d resource policies.", maxPolicies)}
		}
		rev := 1
		if exists {
			n, _ := strconv.Atoi(cur.PolicyRevisionID)
			rev = n + 1
		}
		p := &Policy{PolicyName: *name, PolicyDocument: *document, PolicyRevisionID: strconv.Itoa(rev), LastUpdatedTime: m.now()}
		st.policies[*name] = p
		out = *p
		return nil
	})
	return out, err
}

// DeleteResourcePolicy removes a policy; deleting one that does not exist
// succeeds. revisionID, when given, must match.
func (m *Manager) DeleteResourcePolicy(ctx context.Context, env string, name, revisionID *string) error {
	if err := validatePolicyName(name); err != nil {
		return err
	}
	return m.mutate(env, func(st *envState) error {
		cur, exists := st.policies[*name]
		if !exists {
			return nil
		}
		if revisionID != nil && *revisionID != cur.PolicyRevisionID {
			return &Error{Kind: InvalidPolicyRevision, Message: fmt.Sprintf("Revision id %s does not match the current revision of policy %s.", *revisionID, *name)}
		}
		delete(st.policies, *name)
		return nil
	})
}

// ResourcePolicies lists env's policies by name.
func (m *Manager) ResourcePolicies(ctx context.Context, env string) ([]Policy, error) {
	var out []Policy
	err := m.read(env, func(st *envState) error {
		for _, name := range sortedKeys(st.policies) {
			out = append(out, *st.policies[name])
		}
		return nil
	})
	return out, err
}
