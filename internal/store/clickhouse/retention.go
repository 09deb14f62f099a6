package clickhouse

import (
	"bytes"
	"context"
	"fmt"
	"sort"
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

func (s *Store) retentionLoop() {
	defer s.done.Done()
	t := time.NewTicker(s.cfg.RetentionInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RetentionInterval)
			if err := s.EnforceRetention(ctx); err != nil {
				s.cfg.Logger.Warn("clickhouse store: retention", "err", err)
			}
			cancel()
		}
	}
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
			var lit strings.Builder
			lit.WriteString("(")
			quoteString(&lit, p.env)
			lit.WriteString(", '" + p.day.Format("2006-01-02") + "')")
			for _, t := range retainedTables {
				if err := s.alter(ctx, t, "DROP PARTITION "+lit.String()); err != nil {
					return fmt.Errorf("drop partition %s of %s: %w", lit.String(), t, err)
				}
			}
			total -= p.bytes
		}
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
