package sampling

import (
	"cmp"
	"maps"
	"slices"
	"time"
)

// DefaultRuleName is the rule that always exists, matches everything and is
// consulted last.
const DefaultRuleName = "Default"

// Model limits of a sampling rule.
const (
	maxRuleName      = 32
	maxResourceARN   = 500
	minPriority      = 1
	maxPriority      = 9999
	defaultPriority  = 10000
	maxServiceName   = 64
	maxServiceType   = 64
	maxHost          = 64
	maxHTTPMethod    = 10
	maxURLPath       = 128
	maxAttributes    = 5
	maxAttributeKV   = 32
	supportedVersion = 1
)

// Rule is a sampling rule as X-Ray defines it.
type Rule struct {
	RuleName          string            `json:"RuleName"`
	RuleARN           string            `json:"RuleARN"`
	ResourceARN       string            `json:"ResourceARN"`
	Priority          int64             `json:"Priority"`
	FixedRate         float64           `json:"FixedRate"`
	ReservoirSize     int64             `json:"ReservoirSize"`
	ServiceName       string            `json:"ServiceName"`
	ServiceType       string            `json:"ServiceType"`
	Host              string            `json:"Host"`
	HTTPMethod        string            `json:"HTTPMethod"`
	URLPath           string            `json:"URLPath"`
	Version           int64             `json:"Version"`
	Attributes        map[string]string `json:"Attributes"`
	SamplingRateBoost *RateBoost        `json:"SamplingRateBoost,omitempty"`
}

// RateBoost is a rule's optional adaptive-sampling boost.
type RateBoost struct {
	MaxRate               *float64 `json:"MaxRate"`
	CooldownWindowMinutes *int64   `json:"CooldownWindowMinutes"`
}

// RuleRecord is a rule with its timestamps and tags.
type RuleRecord struct {
	Rule       Rule      `json:"SamplingRule"`
	CreatedAt  time.Time `json:"CreatedAt"`
	ModifiedAt time.Time `json:"ModifiedAt"`
	Tags       []Tag     `json:"Tags,omitempty"`
}

// RuleSpec is the input of CreateSamplingRule (SamplingRule) and
// UpdateSamplingRule (SamplingRuleUpdate): nil means "not given". Its JSON
// member names are X-Ray's, so the API decodes requests straight into it.
type RuleSpec struct {
	RuleName          *string           `json:"RuleName"`
	RuleARN           *string           `json:"RuleARN"`
	ResourceARN       *string           `json:"ResourceARN"`
	Priority          *int64            `json:"Priority"`
	FixedRate         *float64          `json:"FixedRate"`
	ReservoirSize     *int64            `json:"ReservoirSize"`
	ServiceName       *string           `json:"ServiceName"`
	ServiceType       *string           `json:"ServiceType"`
	Host              *string           `json:"Host"`
	HTTPMethod        *string           `json:"HTTPMethod"`
	URLPath           *string           `json:"URLPath"`
	Version           *int64            `json:"Version"`
	Attributes        map[string]string `json:"Attributes"`
	SamplingRateBoost *RateBoost        `json:"SamplingRateBoost"`
}

// defaultRule is the seeded Default rule.
func defaultRule(arn string) Rule {
	return Rule{
		RuleName: DefaultRuleName, RuleARN: arn, ResourceARN: "*",
		Priority: defaultPriority, FixedRate: 0.05, ReservoirSize: 1,
		ServiceName: "*", ServiceType: "*", Host: "*", HTTPMethod: "*", URLPath: "*",
		Version: supportedVersion, Attributes: map[string]string{},
	}
}

// validateSpec checks every given field against the model's limits; with
// create set, the fields CreateSamplingRule requires must be present.
func validateSpec(s *RuleSpec, prefix string, create bool) error {
	var v violations
	p := func(f string) string { return prefix + "." + f }
	str := func(name string, val *string, minLen, maxLen int) {
		if val == nil {
			if create {
				v.required(p(name))
			}
			return
		}
		v.lenRange(p(name), *val, minLen, maxLen)
	}
	if s.RuleName != nil {
		v.lenRange(p("ruleName"), *s.RuleName, 1, maxRuleName)
	} else if create {
		v.required(p("ruleName"))
	}
	str("resourceARN", s.ResourceARN, 0, maxResourceARN)
	if s.Priority == nil {
		if create {
			v.required(p("priority"))
		}
	} else if *s.Priority < minPriority || *s.Priority > maxPriority {
		bound, rel := int64(minPriority), "greater than or equal to"
		if *s.Priority > maxPriority {
			bound, rel = maxPriority, "less than or equal to"
		}
		v.add("Value '%d' at '%s' failed to satisfy constraint: Member must have value %s %d", *s.Priority, p("priority"), rel, bound)
	}
	if s.FixedRate == nil {
		if create {
			v.required(p("fixedRate"))
		}
	} else if !(*s.FixedRate >= 0 && *s.FixedRate <= 1) {
		v.add("Value '%v' at '%s' failed to satisfy constraint: Member must have value between 0 and 1", *s.FixedRate, p("fixedRate"))
	}
	if s.ReservoirSize == nil {
		if create {
			v.required(p("reservoirSize"))
		}
	} else if *s.ReservoirSize < 0 {
		v.add("Value '%d' at '%s' failed to satisfy constraint: Member must have value greater than or equal to 0", *s.ReservoirSize, p("reservoirSize"))
	}
	str("serviceName", s.ServiceName, 0, maxServiceName)
	str("serviceType", s.ServiceType, 0, maxServiceType)
	str("host", s.Host, 0, maxHost)
	str("hTTPMethod", s.HTTPMethod, 0, maxHTTPMethod)
	str("uRLPath", s.URLPath, 0, maxURLPath)
	if create {
		if s.Version == nil {
			v.required(p("version"))
		} else if *s.Version != supportedVersion {
			v.add("Value '%d' at '%s' failed to satisfy constraint: Member must be %d (the only supported rule version)", *s.Version, p("version"), supportedVersion)
		}
	}
	if len(s.Attributes) > maxAttributes {
		v.add("Value at '%s' failed to satisfy constraint: Member must have at most %d entries (has %d)", p("attributes"), maxAttributes, len(s.Attributes))
	}
	for _, k := range slices.Sorted(maps.Keys(s.Attributes)) {
		v.lenRange(p("attributes")+" key", k, 1, maxAttributeKV)
		v.lenRange(p("attributes")+"."+k, s.Attributes[k], 1, maxAttributeKV)
	}
	if b := s.SamplingRateBoost; b != nil {
		if b.MaxRate == nil {
			v.required(p("samplingRateBoost.maxRate"))
		} else if !(*b.MaxRate >= 0 && *b.MaxRate <= 1) {
			v.add("Value '%v' at '%s' failed to satisfy constraint: Member must have value between 0 and 1", *b.MaxRate, p("samplingRateBoost.maxRate"))
		}
		if b.CooldownWindowMinutes == nil {
			v.required(p("samplingRateBoost.cooldownWindowMinutes"))
		} else if *b.CooldownWindowMinutes < 1 {
			v.add("Value '%d' at '%s' failed to satisfy constraint: Member must have value greater than or equal to 1", *b.CooldownWindowMinutes, p("samplingRateBoost.cooldownWindowMinutes"))
		}
	}
	return v.err()
}

// apply copies the given fields of s onto r.
func (r *Rule) apply(s *RuleSpec) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&r.ResourceARN, s.ResourceARN)
	set(&r.ServiceName, s.ServiceName)
	set(&r.ServiceType, s.ServiceType)
	set(&r.Host, s.Host)
	set(&r.HTTPMethod, s.HTTPMethod)
	set(&r.URLPath, s.URLPath)
	if s.Priority != nil {
		r.Priority = *s.Priority
	}
	if s.FixedRate != nil {
		r.FixedRate = *s.FixedRate
	}
	if s.ReservoirSize != nil {
		r.ReservoirSize = *s.ReservoirSize
	}
	if s.Version != nil {
		r.Version = *s.Version
	}
	if s.Attributes != nil {
		r.Attributes = cloneMap(s.Attributes)
	}
	if s.SamplingRateBoost != nil {
		b := *s.SamplingRateBoost
		r.SamplingRateBoost = &b
	}
	if r.Attributes == nil {
		r.Attributes = map[string]string{}
	}
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	maps.Copy(out, m)
	return out
}

// Request describes one incoming request for rule matching. An empty field
// matches any rule value, as in the X-Ray SDKs.
type Request struct {
	ServiceName string
	ServiceType string
	Host        string // with port, as the Host header carries it
	HTTPMethod  string
	URLPath     string // path only
	ResourceARN string
	Attributes  map[string]string
}

// Matches reports whether r applies to req: every field glob-matches (empty
// request values match anything) and every rule attribute is present in
// req.Attributes with a glob-matching value.
func (r *Rule) Matches(req Request) bool {
	f := func(pattern, v string) bool { return v == "" || Glob(pattern, v) }
	if !f(r.ServiceName, req.ServiceName) || !f(r.ServiceType, req.ServiceType) ||
		!f(r.Host, req.Host) || !f(r.HTTPMethod, req.HTTPMethod) ||
		!f(r.URLPath, req.URLPath) || !f(r.ResourceARN, req.ResourceARN) {
		return false
	}
	for k, pat := range r.Attributes {
		v, ok := req.Attributes[k]
		if !ok || !Glob(pat, v) {
			return false
		}
	}
	return true
}

// SortRules orders rules as X-Ray evaluates them: Priority ascending, then
// RuleName.
func SortRules(rules []Rule) {
	slices.SortStableFunc(rules, func(a, b Rule) int {
		if c := cmp.Compare(a.Priority, b.Priority); c != 0 {
			return c
		}
		return cmp.Compare(a.RuleName, b.RuleName)
	})
}

// Match returns the first rule (in SortRules order) that applies to req.
// rules need not be sorted.
func Match(rules []Rule, req Request) (Rule, bool) {
	sorted := slices.Clone(rules)
	SortRules(sorted)
	for i := range sorted {
		if sorted[i].Matches(req) {
			return sorted[i], true
		}
	}
	return Rule{}, false
}
