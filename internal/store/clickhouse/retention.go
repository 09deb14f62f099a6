package clickhouse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/store"
)

// baseEnv is the environment whose retention a door's part follows.
func baseEnv(slug string) string {
	base, _, _ := strings.Cut(slug, "/")
	return base
}

// Retention returns the environment's retention: its override, else
// Config.Retention.
func (s *Store) Retention(ctx context.Context, env string) (store.Retention, error) {
	if s.closed.Load() {
		return store.Retention{}, ErrClosed
	}
	s.cmu.RLock()
	defer s.cmu.RUnlock()
	if r, ok := s.cat.overrides[baseEnv(env)]; ok {
		return r, nil
	}
	return s.cfg.Retention, nil
}

// SetRetention stores (or with nil removes) the environment's override.
func (s *Store) SetRetention(ctx context.Context, env string, r *store.Retention) error {
	if r != nil && (r.MaxAge < 0 || r.MaxBytes < 0) {
		return fmt.Errorf("clickhouse store: retention of %q: negative bounds %+v", env, *r)
	}
	env = baseEnv(env)
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	var b bytes.Buffer
	putString(&b, env)
	var nr store.Retention
	if r != nil {
		nr = *r
	}
	putI64(&b, int64(nr.MaxAge))
	putI64(&b, nr.MaxBytes)
	b.WriteByte(boolByte(r == nil))
	putU64(&b, s.nextSeq())
	if err := s.c.insert(ctx, "retention", "env, max_age_ns, max_bytes, deleted, version", "RowBinary", b.Bytes()); err != nil {
		return wrap("set retention", err)
	}
	s.cmu.Lock()
	if r == nil {
		delete(s.cat.overrides, env)
	} else {
		s.cat.overrides[env] = nr
	}
	s.cmu.Unlock()
	return nil
}

// retainedTables are the tables partitioned by (env, day) that retention
// trims.
var retainedTables = []string{"events", "traces", "xray_replaced"}

// EnforceRetention applies every environment's retention once (see the
// package comment): partitions of whole days past MaxAge and, past
// MaxBytes, the oldest days are dropped; the older rows of the day that
// straddles MaxAge are deleted by a mutation.
func (s *Store) EnforceRetention(ctx context.Context) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	parts, err := s.system("parts")
	if err != nil {
		return err
	}
	mutations, err := s.system("mutations")
	if err != nil {
		return err
	}
	rows, err := s.c.rows(ctx, "SELECT partition, sum(bytes) FROM "+parts+" WHERE database = ? AND table = ? AND active GROUP BY partition", s.cfg.Database, s.local("events"))
	if err != nil {
		return err
	}
	type part struct {
		env   string
		day   time.Time
		bytes int64
	}
	// A door's part follows its environment: MaxBytes bounds them together.
	byBase := map[string][]part{}
	envs := map[string]bool{}
	for _, r := range rows {
		env, day, ok := parsePartition(r[0].(string))
		if !ok {
			continue
		}
		b, _ := r[1].(int64)
		byBase[baseEnv(env)] = append(byBase[baseEnv(env)], part{env: env, day: day, bytes: b})
		envs[env] = true
	}
	now := s.cfg.Now()
	s.cmu.RLock()
	rets := map[string]store.Retention{}
	for base := range byBase {
		r, ok := s.cat.overrides[base]
		if !ok {
			r = s.cfg.Retention
		}
		rets[base] = r
	}
	s.cmu.RUnlock()
	for base, parts := range byBase {
		r := rets[base]
		var total int64
		for _, p := range parts {
			total += p.bytes
		}
		sort.Slice(parts, func(i, j int) bool { return parts[i].day.Before(parts[j].day) })
		newest := parts[len(parts)-1].day
		for _, p := range parts {
			expired := r.MaxAge > 0 && !p.day.Add(24*time.Hour).After(now.Add(-r.MaxAge))
			tooBig := r.MaxBytes > 0 && total > r.MaxBytes && p.day.Before(newest)
			if !expired && !tooBig {
				continue
			}
			lit := partitionLit(p.env, p.day)
			for _, t := range retainedTables {
				if err := s.alter(ctx, t, "DROP PARTITION "+lit); err != nil {
					return fmt.Errorf("drop partition %s of %s: %w", lit, t, err)
				}
			}
			total -= p.bytes
		}
	}
	if s.ttl {
		// The rows past MaxAge in the day that straddles it go by the TTL;
		// after the TTL changed, the parts of those days written before
		// are rewritten with it once.
		if err := s.applyTTL(ctx); err != nil {
			return err
		}
		if !s.ttlPending {
			return nil
		}
		for base, parts := range byBase {
			r := rets[base]
			if r.MaxAge <= 0 {
				continue
			}
			cut := now.Add(-r.MaxAge)
			for _, p := range parts {
				if p.day.After(cut) || !p.day.Add(24*time.Hour).After(cut) {
					continue
				}
				if err := s.alter(ctx, "events", "MATERIALIZE TTL IN PARTITION "+partitionLit(p.env, p.day)); err != nil {
					return fmt.Errorf("materialize the TTL of %s: %w", partitionLit(p.env, p.day), err)
				}
			}
		}
		s.ttlPending = false
		return nil
	}
	// The rows past MaxAge in the day that straddles it: one mutation at a
	// time (a pass while one runs starts none).
	rows, err = s.c.rows(ctx, "SELECT count() FROM "+mutations+" WHERE database = ? AND table = ? AND NOT is_done", s.cfg.Database, s.local("events"))
	if err != nil {
		return err
	}
	if n, _ := rows[0][0].(int64); n > 0 {
		return nil
	}
	for env := range envs {
		r := rets[baseEnv(env)]
		if r.MaxAge <= 0 {
			continue
		}
		cut := now.Add(-r.MaxAge).UnixNano()
		rows, err := s.c.rows(ctx, "SELECT count() FROM events WHERE env = ? AND ts < ?", env, cut)
		if err != nil {
			return err
		}
		if n, _ := rows[0][0].(int64); n > 0 {
			if err := s.alter(ctx, "events", "DELETE WHERE env = ? AND ts < ?", env, cut); err != nil {
				return err
			}
		}
	}
	return nil
}

// partitionLit is the literal of an (env, day) partition.
func partitionLit(env string, day time.Time) string {
	var lit strings.Builder
	lit.WriteString("(")
	quoteString(&lit, env)
	lit.WriteString(", '" + day.Format("2006-01-02") + "')")
	return lit.String()
}

// ttlVersion is the first server version (22.8) whose TTL the store
// uses: TTL … DELETE WHERE, MATERIALIZE TTL IN PARTITION, REMOVE TTL and
// a query's SETTINGS on ALTER. 18.16 has none of them.
const ttlVersion = 22_008_000

// ttlRules returns the TTL of events for the retentions: a rule per
// environment whose override has a MaxAge (its door's part with it), and
// one for the others when Config.Retention has one; "" when no
// retention has a MaxAge. A row is deleted once its time is MaxAge old
// by the server's clock.
func ttlRules(def store.Retention, overrides map[string]store.Retention) string {
	bases := make([]string, 0, len(overrides))
	for b := range overrides {
		bases = append(bases, b)
	}
	sort.Strings(bases)
	var rules, conds []string
	rule := func(age time.Duration, where string) string {
		secs := max(int64(age/time.Second), 1)
		return "toDateTime(intDiv(ts, 1000000000)) + INTERVAL " + strconv.FormatInt(secs, 10) + " SECOND DELETE" + where
	}
	for _, b := range bases {
		var c strings.Builder
		c.WriteString("(env = ")
		quoteString(&c, b)
		c.WriteString(" OR startsWith(env, ")
		quoteString(&c, b+"/")
		c.WriteString("))")
		conds = append(conds, c.String())
		if age := overrides[b].MaxAge; age > 0 {
			rules = append(rules, rule(age, " WHERE "+c.String()))
		}
	}
	if def.MaxAge > 0 {
		where := ""
		if len(conds) > 0 {
			where = " WHERE NOT (" + strings.Join(conds, " OR ") + ")"
		}
		rules = append(rules, rule(def.MaxAge, where))
	}
	return strings.Join(rules, ", ")
}

// applyTTL sets the TTL of events to the current retentions' rules when
// they differ from what this process set last (or it set none yet), with
// materialize_ttl_after_modify = 0: the parts already written are not
// rewritten (EnforceRetention rewrites those of the straddling days, and
// whole days past MaxAge are dropped); new parts and merges apply it.
// The caller holds wmu, or is Open.
func (s *Store) applyTTL(ctx context.Context) error {
	s.cmu.RLock()
	rules := ttlRules(s.cfg.Retention, s.cat.overrides)
	s.cmu.RUnlock()
	if s.ttlSet && rules == s.ttlRule {
		return nil
	}
	var err error
	if rules == "" {
		err = s.alter(ctx, "events", "REMOVE TTL")
		var ce *Error
		if errors.As(err, &ce) && ce.Code == codeBadArguments {
			err = nil // the table had no TTL
		}
	} else {
		err = s.alter(ctx, "events", "MODIFY TTL "+rules+" SETTINGS materialize_ttl_after_modify = 0")
	}
	if err != nil {
		return err
	}
	s.ttlRule, s.ttlSet, s.ttlPending = rules, true, true
	return nil
}

// parsePartition reads system.parts' partition text of (env, day), e.g.
// ('prod','2026-03-04').
func parsePartition(text string) (string, time.Time, bool) {
	t := strings.TrimSpace(text)
	if !strings.HasPrefix(t, "(") || !strings.HasSuffix(t, ")") {
		return "", time.Time{}, false
	}
	t = t[1 : len(t)-1]
	i := strings.LastIndex(t, ",")
	if i < 0 {
		return "", time.Time{}, false
	}
	envLit, dayLit := strings.TrimSpace(t[:i]), strings.Trim(strings.TrimSpace(t[i+1:]), "'")
	day, err := time.Parse("2006-01-02", dayLit)
	if err != nil || day.Year() < 1970 {
		return "", time.Time{}, false
	}
	env, ok := unquote(envLit)
	if !ok {
		return "", time.Time{}, false
	}
	return env, day, true
}

// unquote reads a single-quoted ClickHouse string literal.
func unquote(lit string) (string, bool) {
	if len(lit) < 2 || lit[0] != '\'' || lit[len(lit)-1] != '\'' {
		return "", false
	}
	var b strings.Builder
	s := lit[1 : len(lit)-1]
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			default:
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String(), true
}
