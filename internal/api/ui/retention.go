package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/api"
	"github.com/tracecomb/tracecomb/internal/store"
)

// Retention is what the door needs of the store to show and change each
// environment's retention (Settings → Retention).
type Retention interface {
	// RetentionStatus reports env's retention and what the store measured.
	RetentionStatus(ctx context.Context, env string) (RetentionStatus, error)
	// SetRetention gives env its own retention, or with nil removes it
	// (env goes back to the default, the --retention-* flags).
	SetRetention(ctx context.Context, env string, r *store.Retention) error
}

// RetentionStatus is an environment's retention as the store reports it.
type RetentionStatus struct {
	InForce store.Retention // what the store enforces for the environment
	Own     bool            // InForce is the environment's own setting
	Default store.Retention // the store's default (--retention-age, --retention-size)
	// Bytes is the environment's data in the store's file, Oldest its
	// oldest kept event (zero: none), both as measured at Measured.
	Bytes    int64
	Oldest   time.Time
	Measured time.Time
	// WALBytes is recent data of every environment not yet in the file.
	WALBytes int64
	// LastEnforced is when retention last ran (zero: not yet); it runs
	// every Interval.
	LastEnforced time.Time
	Interval     time.Duration
	Deleted      int64 // events retention deleted since the server started
}

// Bounds of a retention setting made here: below them retention would
// delete nearly everything at every pass.
const (
	minRetentionAge   = time.Minute
	minRetentionBytes = 16 << 20
)

type boundsJSON struct {
	MaxAge        string `json:"max_age"` // "168h", "0" for none
	MaxAgeSeconds int64  `json:"max_age_seconds"`
	MaxBytes      int64  `json:"max_bytes"` // 0: none
}

type retentionJSON struct {
	Env             string     `json:"env"`
	Name            string     `json:"name"`
	boundsJSON                 // in force
	Source          string     `json:"source"` // "environment" (its own setting) or "default" (the flags)
	Default         boundsJSON `json:"default"`
	DataBytes       int64      `json:"data_bytes"`
	WALBytes        int64      `json:"wal_bytes"`
	Oldest          *time.Time `json:"oldest,omitempty"`
	MeasuredAt      *time.Time `json:"measured_at,omitempty"`
	LastEnforcedAt  *time.Time `json:"last_enforced_at,omitempty"`
	IntervalSeconds int64      `json:"interval_seconds"`
	DeletedEvents   int64      `json:"deleted_events"`
}

func bounds(r store.Retention) boundsJSON {
	return boundsJSON{MaxAge: formatAge(r.MaxAge), MaxAgeSeconds: int64(r.MaxAge / time.Second), MaxBytes: r.MaxBytes}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// formatAge writes a duration as a user would: 168h, 90m, 1h30m; "0" for
// none.
func formatAge(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// retentionEnv finds the environment a retention call names and checks
// that the caller may see it (in login mode: its key's own).
func (h *handler) retentionEnv(w http.ResponseWriter, r *http.Request, c caller) (envJSON, bool) {
	if h.deps.Retention == nil {
		api.WriteError(w, http.StatusNotFound, "retention is not available with this store")
		return envJSON{}, false
	}
	slug := r.PathValue("env")
	env, ok := h.deps.Registry.Environment(slug)
	if !ok || (!h.cfg.Open && env.Slug != c.p.Env) {
		api.WriteError(w, http.StatusNotFound, "unknown environment "+strconv.Quote(slug))
		return envJSON{}, false
	}
	return envJSON{Slug: env.Slug, Name: env.Name}, true
}

func (h *handler) retentionOf(ctx context.Context, e envJSON) (retentionJSON, error) {
	st, err := h.deps.Retention.RetentionStatus(ctx, e.Slug)
	if err != nil {
		return retentionJSON{}, err
	}
	out := retentionJSON{Env: e.Slug, Name: e.Name, boundsJSON: bounds(st.InForce), Source: "default", Default: bounds(st.Default),
		DataBytes: st.Bytes, WALBytes: st.WALBytes, Oldest: timePtr(st.Oldest), MeasuredAt: timePtr(st.Measured),
		LastEnforcedAt: timePtr(st.LastEnforced), IntervalSeconds: int64(st.Interval / time.Second), DeletedEvents: st.Deleted}
	if st.Own {
		out.Source = "environment"
	}
	return out, nil
}

// listRetention answers GET /ui-api/settings/retention: the retention of
// every environment the caller sees, and whether it may change them.
func (h *handler) listRetention(w http.ResponseWriter, r *http.Request, c caller) {
	if h.deps.Retention == nil {
		api.WriteError(w, http.StatusNotFound, "retention is not available with this store")
		return
	}
	out := []retentionJSON{}
	for _, e := range h.visibleEnvs(c) {
		rj, err := h.retentionOf(r.Context(), e)
		if err != nil {
			h.retentionFailed(w, e.Slug, err)
			return
		}
		out = append(out, rj)
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"environments": out, "can_edit": h.mayManageKeys(c)})
}

// getRetention answers GET /ui-api/settings/environments/{env}/retention.
func (h *handler) getRetention(w http.ResponseWriter, r *http.Request, c caller) {
	e, ok := h.retentionEnv(w, r, c)
	if !ok {
		return
	}
	rj, err := h.retentionOf(r.Context(), e)
	if err != nil {
		h.retentionFailed(w, e.Slug, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, rj)
}

// putRetention answers PUT /ui-api/settings/environments/{env}/retention
// with {"max_age": "168h", "max_bytes": "10GiB"}: the environment's own
// retention, both bounds (0 for none), in place of the default. It takes
// the rights key management takes.
func (h *handler) putRetention(w http.ResponseWriter, r *http.Request, c caller) {
	if !h.mayManageKeys(c) {
		api.WriteError(w, http.StatusForbidden, "log in with a configuration key that has every permission to change retention")
		return
	}
	e, ok := h.retentionEnv(w, r, c)
	if !ok {
		return
	}
	var in struct {
		MaxAge   json.RawMessage `json:"max_age"`
		MaxBytes json.RawMessage `json:"max_bytes"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	age, err := parseAge(in.MaxAge)
	if err != nil {
		api.WriteError(w, http.StatusBadRequest, "max_age: "+err.Error())
		return
	}
	size, err := parseSize(in.MaxBytes)
	if err != nil {
		api.WriteError(w, http.StatusBadRequest, "max_bytes: "+err.Error())
		return
	}
	ret := store.Retention{MaxAge: age, MaxBytes: size}
	if err := h.deps.Retention.SetRetention(r.Context(), e.Slug, &ret); err != nil {
		h.retentionFailed(w, e.Slug, err)
		return
	}
	h.deps.Logger.Info("retention set from the UI", "env", e.Slug, "max_age", ret.MaxAge, "max_bytes", ret.MaxBytes, "by", c.p.KeyID)
	h.getRetention(w, r, c)
}

// deleteRetention answers DELETE …/retention: the environment goes back
// to the default retention.
func (h *handler) deleteRetention(w http.ResponseWriter, r *http.Request, c caller) {
	if !h.mayManageKeys(c) {
		api.WriteError(w, http.StatusForbidden, "log in with a configuration key that has every permission to change retention")
		return
	}
	e, ok := h.retentionEnv(w, r, c)
	if !ok {
		return
	}
	if err := h.deps.Retention.SetRetention(r.Context(), e.Slug, nil); err != nil {
		h.retentionFailed(w, e.Slug, err)
		return
	}
	h.deps.Logger.Info("retention reset to the default from the UI", "env", e.Slug, "by", c.p.KeyID)
	h.getRetention(w, r, c)
}

func (h *handler) retentionFailed(w http.ResponseWriter, env string, err error) {
	if errors.Is(err, store.ErrNoSpace) {
		api.WriteError(w, http.StatusServiceUnavailable, "the store cannot write now (disk full); try again once space is freed")
		return
	}
	h.deps.Logger.Error("retention", "env", env, "err", err)
	api.WriteError(w, http.StatusInternalServerError, "cannot read or change the retention of "+strconv.Quote(env))
}

// parseAge reads max_age: a duration string ("168h", "90m", "7d"), or 0 /
// "0" for no age limit. Required.
func parseAge(raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, errors.New(`required: a duration such as "168h", "30m" or "7d", or "0" for no age limit`)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		var n float64
		if json.Unmarshal(raw, &n) != nil || n != 0 {
			return 0, fmt.Errorf(`%s is not a duration: write a string such as "168h", "30m" or "7d", or "0" for no age limit`, raw)
		}
		return 0, nil
	}
	s = strings.TrimSpace(s)
	if s == "0" || s == "" {
		return 0, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(strings.TrimSpace(days), 10, 64)
		if err != nil || n < 0 || n > math.MaxInt64/int64(24*time.Hour) {
			return 0, fmt.Errorf("%q is not a duration: write whole days (7d) or units h, m, s (168h, 90m)", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q is not a duration: write e.g. 168h, 90m, 1h30m or 7d", s)
		}
	}
	switch {
	case d < 0:
		return 0, fmt.Errorf("%q is negative; 0 keeps events of any age", s)
	case d > 0 && d < minRetentionAge:
		return 0, fmt.Errorf("%q is shorter than %v (retention runs every minute); 0 keeps events of any age", s, minRetentionAge)
	}
	return d, nil
}

// parseSize reads max_bytes: a number of bytes, or a string with a unit
// ("256MiB", "10GB"; KB, MB, GB, TB are powers of 1000, KiB … TiB of
// 1024), 0 for no size limit. Required.
func parseSize(raw json.RawMessage) (int64, error) {
	const hint = `a number of bytes or a size such as "256MiB" or "10GB", or 0 for no size limit`
	if len(raw) == 0 || string(raw) == "null" {
		return 0, errors.New("required: " + hint)
	}
	var n int64
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		t := strings.TrimSpace(s)
		mult := int64(1)
		for _, u := range []struct {
			suffix string
			mult   int64
		}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40}, {"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12}, {"b", 1}} {
			if len(t) > len(u.suffix) && strings.EqualFold(t[len(t)-len(u.suffix):], u.suffix) {
				t, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.mult
				break
			}
		}
		v, err := strconv.ParseInt(t, 10, 64)
		if err != nil || v > math.MaxInt64/mult {
			return 0, fmt.Errorf("%q is not %s", s, hint)
		}
		n = v * mult
	} else {
		var f float64
		if json.Unmarshal(raw, &f) != nil || f != math.Trunc(f) || f > math.MaxInt64 {
			return 0, fmt.Errorf("%s is not %s", raw, hint)
		}
		n = int64(f)
	}
	switch {
	case n < 0:
		return 0, fmt.Errorf("%s is negative; 0 means no size limit", raw)
	case n > 0 && n < minRetentionBytes:
		return 0, fmt.Errorf("%s is less than the smallest size limit, 16MiB (an environment's tables take ~6 MB before any data); 0 means no size limit", raw)
	}
	return n, nil
}
