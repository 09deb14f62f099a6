package sampling

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tracecomb/tracecomb/internal/state"
)

// FilterValidator checks an X-Ray filter expression (the app plugs in the
// filter-expression parser). A non-nil error is sent to the client as the
// InvalidRequestException message.
type FilterValidator func(expr string) error

// Config configures a Manager. Zero fields take the values of DefaultConfig.
type Config struct {
	// State keeps each environment's rules, groups, encryption settings
	// and policies (one record of kind xray.config per environment) and
	// the sampling statistics every node shares; nil is a fresh store in
	// memory.
	State state.Store
	// Region and AccountID appear in the ARNs of rules and groups.
	Region    string
	AccountID string
	// MaxRules is the number of user rules an environment may hold
	// (the Default rule not counted); more gives RuleLimitExceeded.
	MaxRules int
	// MaxTags is the number of user tags a resource may carry.
	MaxTags int
	// Interval is the reporting interval handed to SDKs in targets.
	Interval time.Duration
	// QuotaTTL is how long a reservoir quota stays valid.
	QuotaTTL time.Duration
	// StaleAfter rejects statistics whose Timestamp is further than this
	// from the server's clock.
	StaleAfter time.Duration
	// StatsWindow is the width of one GetSamplingStatisticSummaries window;
	// StatsRetention how long windows are kept.
	StatsWindow    time.Duration
	StatsRetention time.Duration
	// Now is the clock; every time in this package comes from it.
	Now func() time.Time
	// ValidateFilter checks group filter expressions; nil accepts any.
	ValidateFilter FilterValidator
	Logger         *slog.Logger
}

// DefaultConfig returns the defaults: region us-east-1, account
// 000000000000, 25 rules, 50 tags, a 10 s interval, 300 s quota TTL,
// statistics accepted within 1 h, 1 min windows kept for 1 h, wall clock.
func DefaultConfig() Config {
	return Config{
		Region: "us-east-1", AccountID: "000000000000",
		MaxRules: 25, MaxTags: 50,
		Interval: 10 * time.Second, QuotaTTL: 300 * time.Second,
		StaleAfter:  time.Hour,
		StatsWindow: time.Minute, StatsRetention: time.Hour,
		Now:    time.Now,
		Logger: slog.New(slog.DiscardHandler),
	}
}

func (c *Config) fill() {
	d := DefaultConfig()
	if c.Region == "" {
		c.Region = d.Region
	}
	if c.AccountID == "" {
		c.AccountID = d.AccountID
	}
	if c.MaxRules == 0 {
		c.MaxRules = d.MaxRules
	}
	if c.MaxTags == 0 {
		c.MaxTags = d.MaxTags
	}
	if c.Interval == 0 {
		c.Interval = d.Interval
	}
	if c.QuotaTTL == 0 {
		c.QuotaTTL = d.QuotaTTL
	}
	if c.StaleAfter == 0 {
		c.StaleAfter = d.StaleAfter
	}
	if c.StatsWindow == 0 {
		c.StatsWindow = d.StatsWindow
	}
	if c.StatsRetention == 0 {
		c.StatsRetention = d.StatsRetention
	}
	if c.Now == nil {
		c.Now = d.Now
	}
	if c.Logger == nil {
		c.Logger = d.Logger
	}
	if c.State == nil {
		c.State = state.NewMemory()
	}
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	switch {
	case c.MaxRules < 0, c.MaxTags < 0:
		return errors.New("sampling: MaxRules and MaxTags must not be negative")
	case c.Interval < time.Second:
		return errors.New("sampling: Interval must be at least 1s")
	case c.QuotaTTL < 0, c.StaleAfter < 0, c.StatsWindow < 0, c.StatsRetention < 0:
		return errors.New("sampling: durations must not be negative")
	}
	return nil
}

// Manager holds the X-Ray control-plane state of every environment. It is
// safe for concurrent use.
type Manager struct {
	cfg  Config
	mu   sync.Mutex
	envs map[string]*envState
}

// kindConfig is the state record of an environment's X-Ray configuration.
const kindConfig state.Kind = "xray.config"

// New returns a Manager. Environments are read from the state store on
// first use, and again when Watch hears that another process or node
// changed them.
func New(cfg Config) (*Manager, error) {
	cfg.fill()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Manager{cfg: cfg, envs: map[string]*envState{}}, nil
}

// Watch rereads an environment's configuration when it changes in the
// state store, until ctx ends.
func (m *Manager) Watch(ctx context.Context) {
	for c := range m.cfg.State.Watch(ctx) {
		if c.Kind != "" && c.Kind != kindConfig {
			continue
		}
		m.mu.Lock()
		for env, st := range m.envs {
			if c.Kind == "" || c.Scope == env {
				if err := m.refresh(env, st); err != nil {
					m.cfg.Logger.Warn("cannot reread the X-Ray configuration", "env", env, "err", err)
				}
			}
		}
		m.mu.Unlock()
	}
}

// Import moves the per-environment files that a tracecomb before the state
// store kept in dir (<env>.xray.json) into st, each once: a file whose
// environment already has a record is left alone. Imported files are
// renamed with .imported.
func Import(ctx context.Context, st state.Store, dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		base, ok := strings.CutSuffix(name, ".xray.json")
		if !ok || e.IsDir() {
			continue
		}
		env := base
		if hx, ok := strings.CutPrefix(base, "%"); ok {
			raw, err := hex.DecodeString(hx)
			if err != nil {
				continue
			}
			env = string(raw)
		}
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var p persisted
		if err := json.Unmarshal(b, &p); err != nil {
			return fmt.Errorf("sampling: corrupt state file %s: %w", path, err)
		}
		if _, err := st.Put(ctx, state.Record{Kind: kindConfig, Scope: env, Key: "config", Value: b}, state.MustNotExist); err != nil && !errors.Is(err, state.ErrConflict) {
			return err
		}
		if err := os.Rename(path, path+".imported"); err != nil {
			return err
		}
	}
	return nil
}

// Config returns the effective configuration (defaults filled in).
func (m *Manager) Config() Config { return m.cfg }

// formatVersion of the per-environment document; it only moves forward.
const formatVersion = 1

type envState struct {
	version        int64 // of its state record; 0 when not stored yet
	rules          map[string]*RuleRecord
	groups         map[string]*Group
	encryption     Encryption
	lastRuleChange time.Time
	policies       map[string]*Policy
	destination    string        // "" is DestinationXRay
	destinationAt  time.Time     // when it last changed
	indexing       *IndexingRule // nil is defaultIndexingRule
}

type persisted struct {
	FormatVersion        int           `json:"FormatVersion"`
	Rules                []RuleRecord  `json:"Rules"`
	Groups               []Group       `json:"Groups"`
	Encryption           Encryption    `json:"Encryption"`
	LastRuleModification time.Time     `json:"LastRuleModification"`
	Policies             []Policy      `json:"Policies,omitempty"`
	Destination          string        `json:"Destination,omitempty"`
	DestinationChanged   time.Time     `json:"DestinationChanged,omitzero"`
	Indexing             *IndexingRule `json:"Indexing,omitempty"`
}

func (m *Manager) newEnvState() *envState {
	st := &envState{
		rules:      map[string]*RuleRecord{},
		groups:     map[string]*Group{},
		policies:   map[string]*Policy{},
		encryption: Encryption{Type: "NONE"},
	}
	st.rules[DefaultRuleName] = &RuleRecord{
		Rule:      defaultRule(m.ruleARN(DefaultRuleName)),
		CreatedAt: time.Unix(0, 0).UTC(), ModifiedAt: time.Unix(0, 0).UTC(),
	}
	return st
}

func (st *envState) persisted() persisted {
	p := persisted{FormatVersion: formatVersion, Encryption: st.encryption, LastRuleModification: st.lastRuleChange,
		Destination: st.destination, DestinationChanged: st.destinationAt, Indexing: st.indexing}
	for _, name := range sortedKeys(st.rules) {
		p.Rules = append(p.Rules, *st.rules[name])
	}
	for _, name := range sortedKeys(st.groups) {
		p.Groups = append(p.Groups, *st.groups[name])
	}
	for _, name := range sortedKeys(st.policies) {
		p.Policies = append(p.Policies, *st.policies[name])
	}
	return p
}

func (st *envState) load(p persisted) {
	for i := range p.Rules {
		r := p.Rules[i]
		if r.Rule.Attributes == nil {
			r.Rule.Attributes = map[string]string{}
		}
		st.rules[r.Rule.RuleName] = &r
	}
	st.groups = map[string]*Group{}
	for i := range p.Groups {
		g := p.Groups[i]
		st.groups[g.GroupName] = &g
	}
	st.policies = map[string]*Policy{}
	for i := range p.Policies {
		pol := p.Policies[i]
		st.policies[pol.PolicyName] = &pol
	}
	if p.Encryption.Type != "" {
		st.encryption = p.Encryption
	}
	st.lastRuleChange = p.LastRuleModification
	st.destination, st.destinationAt, st.indexing = p.Destination, p.DestinationChanged, p.Indexing
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// state returns env's state, loading it on first use. m.mu must be held.
func (m *Manager) state(env string) (*envState, error) {
	if env == "" {
		return nil, errors.New("sampling: empty environment")
	}
	if st, ok := m.envs[env]; ok {
		return st, nil
	}
	st := m.newEnvState()
	if err := m.refresh(env, st); err != nil {
		return nil, err
	}
	m.envs[env] = st
	return st, nil
}

// refresh reads env's configuration from the state store into st, keeping
// st's statistics. m.mu must be held.
func (m *Manager) refresh(env string, st *envState) error {
	rec, err := m.cfg.State.Get(context.Background(), kindConfig, env, "config")
	if errors.Is(err, state.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sampling: cannot read the configuration of %q: %w", env, err)
	}
	if rec.Version == st.version {
		return nil
	}
	var p persisted
	if err := json.Unmarshal(rec.Value, &p); err != nil {
		return fmt.Errorf("sampling: corrupt configuration of %q: %w", env, err)
	}
	if p.FormatVersion > formatVersion {
		return fmt.Errorf("sampling: the configuration of %q has format %d, newer than %d", env, p.FormatVersion, formatVersion)
	}
	fresh := m.newEnvState()
	fresh.load(p)
	st.rules, st.groups, st.policies, st.encryption, st.lastRuleChange = fresh.rules, fresh.groups, fresh.policies, fresh.encryption, fresh.lastRuleChange
	st.destination, st.destinationAt, st.indexing = fresh.destination, fresh.destinationAt, fresh.indexing
	st.version = rec.Version
	return nil
}

// read runs fn on env's state under the lock.
func (m *Manager) read(env string, fn func(st *envState) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := m.state(env)
	if err != nil {
		return err
	}
	return fn(st)
}

// mutate runs fn on env's state and stores the result, provided nobody
// else changed it meanwhile (another process or node): then it rereads
// the stored configuration and runs fn again. If storing fails the state
// is rolled back. fn must validate before it changes anything.
func (m *Manager) mutate(env string, fn func(st *envState) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := m.state(env)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		before, err := json.Marshal(st.persisted())
		if err != nil {
			return err
		}
		if err := fn(st); err != nil {
			return err
		}
		err = m.save(env, st)
		if err == nil {
			return nil
		}
		var p persisted
		if uerr := json.Unmarshal(before, &p); uerr == nil {
			st.rules = map[string]*RuleRecord{}
			st.load(p)
		}
		if errors.Is(err, state.ErrConflict) && attempt < 5 {
			if rerr := m.refresh(env, st); rerr != nil {
				return rerr
			}
			continue
		}
		m.cfg.Logger.Error("cannot store the X-Ray configuration", "env", env, "err", err)
		return err
	}
}

func (m *Manager) save(env string, st *envState) error {
	b, err := json.Marshal(st.persisted())
	if err != nil {
		return err
	}
	ifVersion := st.version
	if ifVersion == 0 {
		ifVersion = state.MustNotExist
	}
	v, err := m.cfg.State.Put(context.Background(), state.Record{Kind: kindConfig, Scope: env, Key: "config", Value: b}, ifVersion)
	if err != nil {
		return err
	}
	st.version = v
	return nil
}

func (m *Manager) arnPrefix() string {
	return "arn:aws:xray:" + m.cfg.Region + ":" + m.cfg.AccountID + ":"
}

func (m *Manager) ruleARN(name string) string { return m.arnPrefix() + "sampling-rule/" + name }

func (m *Manager) now() time.Time { return m.cfg.Now() }

// Rules returns env's rules in evaluation order (Priority, then name); the
// Default rule is last.
func (m *Manager) Rules(ctx context.Context, env string) ([]RuleRecord, error) {
	var out []RuleRecord
	err := m.read(env, func(st *envState) error {
		out = st.sortedRules()
		return nil
	})
	return out, err
}

func (st *envState) sortedRules() []RuleRecord {
	out := make([]RuleRecord, 0, len(st.rules))
	for _, r := range st.rules {
		out = append(out, cloneRecord(*r))
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Rule, out[j].Rule
		if a.Priority != b.Priority {
			return a.Priority < b.Priority
		}
		return a.RuleName < b.RuleName
	})
	return out
}

func cloneRecord(r RuleRecord) RuleRecord {
	r.Rule.Attributes = cloneMap(r.Rule.Attributes)
	if r.Rule.SamplingRateBoost != nil {
		b := *r.Rule.SamplingRateBoost
		r.Rule.SamplingRateBoost = &b
	}
	r.Tags = append([]Tag(nil), r.Tags...)
	return r
}

// MatchRule returns the rule of env that applies to req (at worst Default).
func (m *Manager) MatchRule(ctx context.Context, env string, req Request) (Rule, error) {
	var out Rule
	err := m.read(env, func(st *envState) error {
		var best *RuleRecord
		for _, r := range st.rules {
			if best != nil && !ruleBefore(&r.Rule, &best.Rule) {
				continue
			}
			if r.Rule.Matches(req) {
				best = r
			}
		}
		if best == nil {
			best = st.rules[DefaultRuleName]
		}
		out = cloneRecord(*best).Rule
		return nil
	})
	return out, err
}

// ruleBefore reports whether a is evaluated before b.
func ruleBefore(a, b *Rule) bool {
	if a.Priority != b.Priority {
		return a.Priority < b.Priority
	}
	return a.RuleName < b.RuleName
}

// CreateRule adds a rule (CreateSamplingRule).
func (m *Manager) CreateRule(ctx context.Context, env string, spec RuleSpec, tags []Tag) (RuleRecord, error) {
	if err := validateSpec(&spec, "samplingRule", true); err != nil {
		return RuleRecord{}, err
	}
	if err := validateTags(tags, "tags", m.cfg.MaxTags, *spec.RuleName); err != nil {
		return RuleRecord{}, err
	}
	var out RuleRecord
	err := m.mutate(env, func(st *envState) error {
		name := *spec.RuleName
		if name == DefaultRuleName {
			return invalidf("The rule name %s is reserved for the default sampling rule.", DefaultRuleName)
		}
		if _, ok := st.rules[name]; ok {
			return invalidf("A sampling rule with name %s already exists.", name)
		}
		if len(st.rules)-1 >= m.cfg.MaxRules {
			return &Error{Kind: RuleLimitExceeded, Message: fmt.Sprintf("You have reached the maximum number of sampling rules (%d).", m.cfg.MaxRules)}
		}
		now := m.now()
		rec := &RuleRecord{Rule: Rule{RuleName: name, RuleARN: m.ruleARN(name)}, CreatedAt: now, ModifiedAt: now}
		rec.Rule.apply(&spec)
		rec.Tags = mergeTags(nil, tags)
		st.rules[name] = rec
		st.lastRuleChange = now
		out = cloneRecord(*rec)
		return nil
	})
	return out, err
}

// findRule resolves RuleName or RuleARN (exactly one). m.mu must be held.
func (m *Manager) findRule(st *envState, name, arn *string) (*RuleRecord, error) {
	switch {
	case name != nil && arn != nil:
		return nil, invalidf("Specify either RuleName or RuleARN, not both.")
	case name == nil && arn == nil:
		return nil, invalidf("Either RuleName or RuleARN must be specified.")
	case name != nil:
		if r, ok := st.rules[*name]; ok {
			return r, nil
		}
		return nil, invalidf("Sampling rule %s does not exist.", *name)
	}
	for _, r := range st.rules {
		if r.Rule.RuleARN == *arn {
			return r, nil
		}
	}
	return nil, invalidf("Sampling rule %s does not exist.", *arn)
}

// UpdateRule patches the given fields of a rule (UpdateSamplingRule). The
// Default rule accepts only FixedRate and ReservoirSize.
func (m *Manager) UpdateRule(ctx context.Context, env string, spec RuleSpec) (RuleRecord, error) {
	if spec.Version != nil {
		return RuleRecord{}, invalidf("Version cannot be updated.")
	}
	if err := validateSpec(&spec, "samplingRuleUpdate", false); err != nil {
		return RuleRecord{}, err
	}
	var out RuleRecord
	err := m.mutate(env, func(st *envState) error {
		rec, err := m.findRule(st, spec.RuleName, spec.RuleARN)
		if err != nil {
			return err
		}
		if rec.Rule.RuleName == DefaultRuleName && !defaultOnlyRateChange(rec.Rule, &spec) {
			return invalidf("Invalid update request for default sampling rule: only FixedRate and ReservoirSize can be changed.")
		}
		now := m.now()
		rec.Rule.apply(&spec)
		rec.ModifiedAt = now
		st.lastRuleChange = now
		out = cloneRecord(*rec)
		return nil
	})
	return out, err
}

// defaultOnlyRateChange reports whether spec leaves every field of the
// Default rule but FixedRate and ReservoirSize as it is.
func defaultOnlyRateChange(r Rule, s *RuleSpec) bool {
	same := func(v *string, cur string) bool { return v == nil || *v == cur }
	return same(s.ResourceARN, r.ResourceARN) && same(s.ServiceName, r.ServiceName) &&
		same(s.ServiceType, r.ServiceType) && same(s.Host, r.Host) &&
		same(s.HTTPMethod, r.HTTPMethod) && same(s.URLPath, r.URLPath) &&
		(s.Priority == nil || *s.Priority == r.Priority) &&
		len(s.Attributes) == 0 && s.SamplingRateBoost == nil
}

// DeleteRule removes a rule named by RuleName or RuleARN and returns it.
func (m *Manager) DeleteRule(ctx context.Context, env string, name, arn *string) (RuleRecord, error) {
	var out RuleRecord
	err := m.mutate(env, func(st *envState) error {
		rec, err := m.findRule(st, name, arn)
		if err != nil {
			return err
		}
		if rec.Rule.RuleName == DefaultRuleName {
			return invalidf("The default sampling rule cannot be deleted.")
		}
		delete(st.rules, rec.Rule.RuleName)
		st.lastRuleChange = m.now()
		out = cloneRecord(*rec)
		return nil
	})
	return out, err
}
