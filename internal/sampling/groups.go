package sampling

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// DefaultGroupName is the group every account lists; it has no filter and
// cannot be created, changed or deleted.
const DefaultGroupName = "Default"

const (
	maxGroupName = 32
	maxGroupARN  = 400
	maxTagKey    = 128
	maxTagValue  = 256
	maxTagInput  = 200
	maxKeyID     = 3000
	// encryptionSettle is how long a new encryption configuration reports
	// Status UPDATING before it becomes ACTIVE.
	encryptionSettle = 5 * time.Second
)

// Group is an X-Ray group.
type Group struct {
	GroupName            string    `json:"GroupName"`
	GroupARN             string    `json:"GroupARN"`
	FilterExpression     string    `json:"FilterExpression,omitempty"`
	InsightsEnabled      bool      `json:"InsightsEnabled"`
	NotificationsEnabled bool      `json:"NotificationsEnabled"`
	Tags                 []Tag     `json:"Tags,omitempty"`
	CreatedAt            time.Time `json:"CreatedAt"`
}

// InsightsConfiguration is the optional insights switch pair of a group.
type InsightsConfiguration struct {
	InsightsEnabled      *bool `json:"InsightsEnabled"`
	NotificationsEnabled *bool `json:"NotificationsEnabled"`
}

// GroupSpec is the input of CreateGroup and UpdateGroup; nil means "not
// given". Member names are X-Ray's.
type GroupSpec struct {
	GroupName             *string                `json:"GroupName"`
	GroupARN              *string                `json:"GroupARN"`
	FilterExpression      *string                `json:"FilterExpression"`
	InsightsConfiguration *InsightsConfiguration `json:"InsightsConfiguration"`
	Tags                  []Tag                  `json:"Tags"`
}

// Tag is a resource tag.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// Encryption is an environment's encryption configuration.
type Encryption struct {
	Type      string    `json:"Type"` // NONE or KMS
	KeyID     string    `json:"KeyId,omitempty"`
	UpdatedAt time.Time `json:"UpdatedAt"`
	// Status is computed: UPDATING shortly after a change, else ACTIVE.
	Status string `json:"-"`
}

func validGroupName(name string) bool {
	for _, c := range name {
		if !(c == '-' || c < unicode.MaxASCII && (unicode.IsLetter(c) || unicode.IsDigit(c))) {
			return false
		}
	}
	return true
}

func validateGroupRef(name, arn *string) error {
	var v violations
	if name != nil {
		v.lenRange("groupName", *name, 1, maxGroupName)
	}
	if arn != nil {
		v.lenRange("groupARN", *arn, 1, maxGroupARN)
	}
	return v.err()
}

func (m *Manager) groupARN(env, name string, created time.Time) string {
	if name == DefaultGroupName {
		return m.arnPrefix() + "group/" + DefaultGroupName
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%d", env, name, created.UnixNano()))
	id := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:])[:26]
	return m.arnPrefix() + "group/" + name + "/" + id
}

func (m *Manager) defaultGroup() Group {
	return Group{GroupName: DefaultGroupName, GroupARN: m.groupARN("", DefaultGroupName, time.Time{})}
}

func (m *Manager) checkFilter(expr string) error {
	if expr == "" || m.cfg.ValidateFilter == nil {
		return nil
	}
	if err := m.cfg.ValidateFilter(expr); err != nil {
		return invalidf("Invalid filter expression: %v", err)
	}
	return nil
}

func applyInsights(g *Group, ic *InsightsConfiguration) error {
	if ic == nil {
		return nil
	}
	ins, notif := g.InsightsEnabled, g.NotificationsEnabled
	if ic.InsightsEnabled != nil {
		ins = *ic.InsightsEnabled
	}
	if ic.NotificationsEnabled != nil {
		notif = *ic.NotificationsEnabled
	}
	if notif && !ins {
		return invalidf("Notifications can only be enabled for groups with insights enabled.")
	}
	g.InsightsEnabled, g.NotificationsEnabled = ins, notif
	return nil
}

// CreateGroup adds a group (CreateGroup).
func (m *Manager) CreateGroup(ctx context.Context, env string, spec GroupSpec) (Group, error) {
	if spec.GroupName == nil {
		var v violations
		v.required("groupName")
		return Group{}, v.err()
	}
	name := *spec.GroupName
	if err := validateGroupRef(&name, nil); err != nil {
		return Group{}, err
	}
	if !validGroupName(name) {
		return Group{}, invalidf("Invalid group name %q: a group name may contain only letters, digits and '-'.", name)
	}
	if name == DefaultGroupName {
		return Group{}, invalidf("The group name %s is reserved.", DefaultGroupName)
	}
	if err := validateTags(spec.Tags, "tags", m.cfg.MaxTags, name); err != nil {
		return Group{}, err
	}
	g := Group{GroupName: name}
	if spec.FilterExpression != nil {
		if err := m.checkFilter(*spec.FilterExpression); err != nil {
			return Group{}, err
		}
		g.FilterExpression = *spec.FilterExpression
	}
	if err := applyInsights(&g, spec.InsightsConfiguration); err != nil {
		return Group{}, err
	}
	var out Group
	err := m.mutate(env, func(st *envState) error {
		if _, ok := st.groups[name]; ok {
			return invalidf("A group with name %s already exists.", name)
		}
		g.CreatedAt = m.now()
		g.GroupARN = m.groupARN(env, name, g.CreatedAt)
		g.Tags = mergeTags(nil, spec.Tags)
		st.groups[name] = &g
		out = cloneGroup(g)
		return nil
	})
	return out, err
}

func cloneGroup(g Group) Group {
	g.Tags = append([]Tag(nil), g.Tags...)
	return g
}

// findGroup resolves a group by name or ARN; Default resolves to the
// built-in group (returned with ok=false for "not stored").
func (m *Manager) findGroup(st *envState, name, arn *string) (g *Group, builtin bool, err error) {
	if err := validateGroupRef(name, arn); err != nil {
		return nil, false, err
	}
	def := m.defaultGroup()
	switch {
	case name == nil && arn == nil:
		return nil, false, invalidf("Either GroupName or GroupARN must be specified.")
	case name != nil:
		if *name == DefaultGroupName {
			return &def, true, nil
		}
		if g, ok := st.groups[*name]; ok {
			if arn != nil && *arn != g.GroupARN {
				return nil, false, invalidf("GroupName %s and GroupARN %s name different groups.", *name, *arn)
			}
			return g, false, nil
		}
		return nil, false, invalidf("Group not found: %s", *name)
	}
	if *arn == def.GroupARN {
		return &def, true, nil
	}
	for _, g := range st.groups {
		if g.GroupARN == *arn {
			return g, false, nil
		}
	}
	return nil, false, invalidf("Group not found: %s", *arn)
}

// Group returns one group (GetGroup).
func (m *Manager) Group(ctx context.Context, env string, name, arn *string) (Group, error) {
	var out Group
	err := m.read(env, func(st *envState) error {
		g, _, err := m.findGroup(st, name, arn)
		if err != nil {
			return err
		}
		out = cloneGroup(*g)
		return nil
	})
	return out, err
}

// Groups returns the Default group followed by env's groups by name.
func (m *Manager) Groups(ctx context.Context, env string) ([]Group, error) {
	out := []Group{m.defaultGroup()}
	err := m.read(env, func(st *envState) error {
		for _, name := range sortedKeys(st.groups) {
			out = append(out, cloneGroup(*st.groups[name]))
		}
		return nil
	})
	return out, err
}

// UpdateGroup changes a group's filter expression and insights settings.
func (m *Manager) UpdateGroup(ctx context.Context, env string, spec GroupSpec) (Group, error) {
	if spec.FilterExpression != nil {
		if err := m.checkFilter(*spec.FilterExpression); err != nil {
			return Group{}, err
		}
	}
	var out Group
	err := m.mutate(env, func(st *envState) error {
		g, builtin, err := m.findGroup(st, spec.GroupName, spec.GroupARN)
		if err != nil {
			return err
		}
		if builtin {
			return invalidf("The %s group cannot be updated.", DefaultGroupName)
		}
		next := cloneGroup(*g)
		if spec.FilterExpression != nil {
			next.FilterExpression = *spec.FilterExpression
		}
		if err := applyInsights(&next, spec.InsightsConfiguration); err != nil {
			return err
		}
		*g = next
		out = cloneGroup(next)
		return nil
	})
	return out, err
}

// DeleteGroup removes a group.
func (m *Manager) DeleteGroup(ctx context.Context, env string, name, arn *string) error {
	return m.mutate(env, func(st *envState) error {
		g, builtin, err := m.findGroup(st, name, arn)
		if err != nil {
			return err
		}
		if builtin {
			return invalidf("The %s group cannot be deleted.", DefaultGroupName)
		}
		delete(st.groups, g.GroupName)
		return nil
	})
}

func validTagChars(s string) bool {
	for _, c := range s {
		if !(unicode.IsLetter(c) || unicode.IsDigit(c) || unicode.IsSpace(c) || strings.ContainsRune("_.:/=+-@", c)) {
			return false
		}
	}
	return true
}

// validateTags checks a tag list against the model and the tag rules;
// resource names the resource for TooManyTags.
func validateTags(tags []Tag, path string, maxTags int, resource string) error {
	var v violations
	if len(tags) > maxTagInput {
		v.add("Value at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", path, maxTagInput)
	}
	for i, t := range tags {
		p := fmt.Sprintf("%s.%d.member", path, i+1)
		v.lenRange(p+".key", t.Key, 1, maxTagKey)
		v.lenRange(p+".value", t.Value, 0, maxTagValue)
		if !validTagChars(t.Key) {
			v.add("Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$", truncate(t.Key), p+".key")
		}
		if !validTagChars(t.Value) {
			v.add("Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$", truncate(t.Value), p+".value")
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			v.add("Tag key '%s' at '%s' uses the reserved prefix 'aws:'", truncate(t.Key), p+".key")
		}
	}
	if err := v.err(); err != nil {
		return err
	}
	if n := len(mergeTags(nil, tags)); n > maxTags {
		return &Error{Kind: TooManyTags, ResourceName: resource, Message: fmt.Sprintf("A resource can have at most %d tags; the request would leave %d.", maxTags, n)}
	}
	return nil
}

// mergeTags sets tags onto have (later keys replace earlier values) and
// returns the result; have is not modified.
func mergeTags(have, tags []Tag) []Tag {
	out := append([]Tag(nil), have...)
	for _, t := range tags {
		replaced := false
		for i := range out {
			if out[i].Key == t.Key {
				out[i].Value = t.Value
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, t)
		}
	}
	return out
}

// taggable finds the tag list of the resource named by arn.
func (m *Manager) taggable(st *envState, arn string) (*[]Tag, error) {
	for _, r := range st.rules {
		if r.Rule.RuleARN == arn {
			return &r.Tags, nil
		}
	}
	for _, g := range st.groups {
		if g.GroupARN == arn {
			return &g.Tags, nil
		}
	}
	return nil, &Error{Kind: NotFound, ResourceName: arn, Message: fmt.Sprintf("Resource not found: %s", arn)}
}

func validateARN(arn string) error {
	var v violations
	v.lenRange("resourceARN", arn, 1, 1011)
	return v.err()
}

// TagResource adds or replaces tags on a rule or group.
func (m *Manager) TagResource(ctx context.Context, env, arn string, tags []Tag) error {
	if err := validateARN(arn); err != nil {
		return err
	}
	if err := validateTags(tags, "tags", maxTagInput, arn); err != nil {
		return err
	}
	return m.mutate(env, func(st *envState) error {
		have, err := m.taggable(st, arn)
		if err != nil {
			return err
		}
		next := mergeTags(*have, tags)
		if len(next) > m.cfg.MaxTags {
			return &Error{Kind: TooManyTags, ResourceName: arn, Message: fmt.Sprintf("A resource can have at most %d tags; the request would leave %d.", m.cfg.MaxTags, len(next))}
		}
		*have = next
		return nil
	})
}

// UntagResource removes tags by key (absent keys are ignored).
func (m *Manager) UntagResource(ctx context.Context, env, arn string, keys []string) error {
	if err := validateARN(arn); err != nil {
		return err
	}
	var v violations
	if len(keys) > maxTagInput {
		v.add("Value at 'tagKeys' failed to satisfy constraint: Member must have length less than or equal to %d", maxTagInput)
	}
	for i, k := range keys {
		v.lenRange(fmt.Sprintf("tagKeys.%d.member", i+1), k, 1, maxTagKey)
	}
	if err := v.err(); err != nil {
		return err
	}
	return m.mutate(env, func(st *envState) error {
		have, err := m.taggable(st, arn)
		if err != nil {
			return err
		}
		var next []Tag
		for _, t := range *have {
			drop := false
			for _, k := range keys {
				drop = drop || t.Key == k
			}
			if !drop {
				next = append(next, t)
			}
		}
		*have = next
		return nil
	})
}

// Tags lists the tags of a rule or group.
func (m *Manager) Tags(ctx context.Context, env, arn string) ([]Tag, error) {
	if err := validateARN(arn); err != nil {
		return nil, err
	}
	var out []Tag
	err := m.read(env, func(st *envState) error {
		have, err := m.taggable(st, arn)
		if err != nil {
			return err
		}
		out = append([]Tag{}, (*have)...)
		return nil
	})
	return out, err
}

// EncryptionConfig returns env's encryption configuration
// (default Type NONE, Status ACTIVE).
func (m *Manager) EncryptionConfig(ctx context.Context, env string) (Encryption, error) {
	var out Encryption
	err := m.read(env, func(st *envState) error {
		out = m.withStatus(st.encryption)
		return nil
	})
	return out, err
}

func (m *Manager) withStatus(e Encryption) Encryption {
	e.Status = "ACTIVE"
	if !e.UpdatedAt.IsZero() && m.now().Sub(e.UpdatedAt) < encryptionSettle {
		e.Status = "UPDATING"
	}
	return e
}

// PutEncryptionConfig sets the encryption configuration: typ NONE or KMS
// (KMS needs keyID).
func (m *Manager) PutEncryptionConfig(ctx context.Context, env string, typ *string, keyID *string) (Encryption, error) {
	var v violations
	switch {
	case typ == nil:
		v.required("type")
	case *typ != "NONE" && *typ != "KMS":
		v.add("Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [NONE, KMS]", truncate(*typ))
	}
	if keyID != nil {
		v.lenRange("keyId", *keyID, 1, maxKeyID)
	}
	if err := v.err(); err != nil {
		return Encryption{}, err
	}
	e := Encryption{Type: *typ}
	if *typ == "KMS" {
		if keyID == nil {
			return Encryption{}, invalidf("A KeyId is required when Type is KMS.")
		}
		e.KeyID = *keyID
	}
	var out Encryption
	err := m.mutate(env, func(st *envState) error {
		e.UpdatedAt = m.now()
		st.encryption = e
		out = m.withStatus(e)
		return nil
	})
	return out, err
}
