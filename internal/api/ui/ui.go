// Package ui is tracecomb's UI door: one http.Handler that serves the
// embedded web app (with a fallback to index.html for the app's own
// routes) and the JSON API the app calls, all under /ui-api/.
//
// The UI reuses the real API handlers instead of duplicating them: it
// authenticates the browser, then forwards
//
//	/ui-api/hc/<path>   to Deps.API at /<path> (Honeycomb API, query API,
//	                    tracecomb's /api/traces), with the caller's
//	                    Principal in the request context (api.WithPrincipal)
//	/ui-api/xray/<Op>   to Deps.XRay at /<Op> (the X-Ray API handler
//	                    without its SigV4 wrapper), with the environment in
//	                    the context (Deps.XRayEnv, i.e. xray.WithEnv)
//
// and answers the Settings endpoints (environments and keys) itself from
// Deps.Registry, and each environment's retention (retention.go) from
// Deps.Retention.
//
// Two ways in. Open (the door is bound to a loopback address): no login;
// the app names the environment in the X-Tracecomb-Env header (default
// Config.DefaultEnv), and the Host header must be a loopback name so that
// other sites cannot reach the door through DNS rebinding. Login (any
// other bind): the browser posts a key to /ui-api/login; the door keeps it
// in an HttpOnly, SameSite=Strict cookie and forwards every call with
// X-Honeycomb-Team set from it, so a revoked key stops working at once.
// Either way every /ui-api call must carry the X-Tracecomb-UI header, which
// a cross-site form cannot send, and the door answers no CORS preflight.
package ui

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/api"
	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/web"
)

// Header and cookie names.
const (
	HeaderUI  = "X-Tracecomb-UI"  // required on every /ui-api call
	HeaderEnv = "X-Tracecomb-Env" // open mode: the environment slug
	// HeaderDoors names the doors whose data the X-Ray views read, comma
	// separated ("xray", "honeycomb" or both); absent: the X-Ray API's own.
	HeaderDoors  = "X-Tracecomb-Doors"
	CookieName   = "tracecomb_session"
	apiPrefix    = "/ui-api/"
	maxBodyBytes = 1 << 20
)

// Registry is what the door needs of the key registry (auth.Registry).
type Registry interface {
	auth.Authenticator
	Environments() []auth.Environment
	Environment(slug string) (auth.Environment, bool)
	Keys() []auth.KeyRecord
	PrincipalByID(id string) (auth.Principal, error)
	CreateKey(spec auth.KeySpec) (auth.KeyRecord, string, error)
	Revoke(id string) error
	Team() string
}

// Config configures the door. Zero fields take defaults.
type Config struct {
	// Open serves without login (set it when the door is bound to a
	// loopback address); otherwise a key is asked for.
	Open bool
	// DefaultEnv is the environment of open mode when the app names none
	// (default auth.DefaultEnv, "test").
	DefaultEnv string
	// SecureCookie marks the session cookie Secure (behind TLS).
	SecureCookie bool
	// SessionTTL is the session cookie's lifetime (default 12 h).
	SessionTTL time.Duration
	// Endpoints are shown in the "add your data" panel: the OTLP/HTTP
	// endpoint URL, the OTLP/gRPC address and the X-Ray daemon address.
	OTLPHTTPEndpoint string
	OTLPGRPCEndpoint string
	XRayDaemonAddr   string
	// Assets are the app's files (default web.Assets()).
	Assets fs.FS
}

// Deps are the door's collaborators.
type Deps struct {
	// API is the API door's handler (Honeycomb and query API). Required.
	API http.Handler
	// XRay is the X-Ray API handler without SigV4; nil answers 404 on
	// /ui-api/xray/.
	XRay http.Handler
	// XRayEnv returns ctx carrying the environment for XRay
	// (xray.WithEnv). Required with XRay.
	XRayEnv func(ctx context.Context, env string) context.Context
	// XRayDoors returns ctx asking XRay to read the events sent to these
	// doors (xray.WithDoors), for a request that names them in the
	// X-Tracecomb-Doors header. Optional: without it the header is ignored.
	XRayDoors func(ctx context.Context, doors ...model.Door) context.Context
	// Registry lists, creates and revokes keys. Required.
	Registry Registry
	// Retention shows and changes each environment's retention; nil
	// answers 404 on the retention endpoints.
	Retention Retention
	Logger    *slog.Logger
}

type handler struct {
	cfg      Config
	deps     Deps
	assets   http.Handler
	fsys     fs.FS
	mux      *http.ServeMux
	sessions *sessionStore
	logins   api.FailureLimiter // failed logins per address
}

// New returns the UI door's handler.
func New(cfg Config, deps Deps) http.Handler {
	if cfg.DefaultEnv == "" {
		cfg.DefaultEnv = auth.DefaultEnv
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.Assets == nil {
		cfg.Assets, _ = web.Assets()
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.API == nil {
		deps.API = http.NotFoundHandler()
	}
	sessions := newSessionStore(cfg.SessionTTL, 10_000)
	h := &handler{cfg: cfg, deps: deps, fsys: cfg.Assets, assets: http.FileServerFS(cfg.Assets), mux: http.NewServeMux(), sessions: sessions}
	h.mux.HandleFunc("GET /ui-api/session", h.session)
	h.mux.HandleFunc("POST /ui-api/login", h.login)
	h.mux.HandleFunc("POST /ui-api/logout", h.logout)
	h.mux.Handle("GET /ui-api/settings", h.authed(h.settings))
	h.mux.Handle("POST /ui-api/settings/keys", h.authed(h.createKey))
	h.mux.Handle("POST /ui-api/settings/keys/{id}/revoke", h.authed(h.revokeKey))
	h.mux.Handle("GET /ui-api/settings/retention", h.authed(h.listRetention))
	h.mux.Handle("GET /ui-api/settings/environments/{env}/retention", h.authed(h.getRetention))
	h.mux.Handle("PUT /ui-api/settings/environments/{env}/retention", h.authed(h.putRetention))
	h.mux.Handle("DELETE /ui-api/settings/environments/{env}/retention", h.authed(h.deleteRetention))
	h.mux.Handle("/ui-api/hc/", h.authed(h.forwardAPI))
	h.mux.Handle("/ui-api/xray/", h.authed(h.forwardXRay))
	h.mux.HandleFunc("/ui-api/", func(w http.ResponseWriter, _ *http.Request) {
		api.WriteError(w, http.StatusNotFound, "not found")
	})
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Open && !api.LoopbackHost(r.Host) {
		http.Error(w, "this UI is served to loopback names only (localhost, 127.0.0.1, [::1])", http.StatusMisdirectedRequest)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "same-origin")
	if strings.HasPrefix(r.URL.Path, apiPrefix) {
		w.Header().Set("Cache-Control", "no-store")
		if r.Header.Get(HeaderUI) == "" {
			api.WriteError(w, http.StatusForbidden, "missing "+HeaderUI+" header")
			return
		}
		h.mux.ServeHTTP(w, r)
		return
	}
	h.serveAsset(w, r)
}

// serveAsset serves a file of the app, or index.html for any other path
// (the app's own routes), never a directory listing.
func (h *handler) serveAsset(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name != "" && name != "index.html" {
		if fi, err := fs.Stat(h.fsys, name); err == nil && !fi.IsDir() {
			if strings.HasPrefix(name, "assets/") {
				// Vite names built assets by content hash.
				w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			}
			h.assets.ServeHTTP(w, r)
			return
		}
		if strings.HasPrefix(name, "assets/") {
			http.NotFound(w, r)
			return
		}
	}
	b, err := fs.ReadFile(h.fsys, "index.html")
	if err != nil {
		http.Error(w, "index.html missing", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b) //nolint:errcheck // the client went away
}

// caller is who a /ui-api call acts as.
type caller struct {
	p auth.Principal
	// session is the principal of the key the browser logged in with, if
	// it did (in login mode, p itself).
	session *auth.Principal
	token   string
}

// authed resolves the caller (open: the named environment; login: the
// session's key) or answers 401.
func (h *handler) authed(fn func(http.ResponseWriter, *http.Request, caller)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, status, msg := h.resolve(r)
		if status != 0 {
			api.WriteError(w, status, msg)
			return
		}
		fn(w, r, c)
	})
}

func (h *handler) resolve(r *http.Request) (caller, int, string) {
	var c caller
	if ck, err := r.Cookie(CookieName); err == nil && ck.Value != "" {
		keyID, ok := h.sessions.get(ck.Value)
		if ok {
			p, err := h.deps.Registry.PrincipalByID(keyID)
			if err == nil {
				c.session, c.token = &p, ck.Value
			} else {
				h.sessions.end(ck.Value) // the key was revoked
				if !h.cfg.Open {
					return caller{}, http.StatusUnauthorized, err.Error()
				}
			}
		} else if !h.cfg.Open {
			return caller{}, http.StatusUnauthorized, "the session ended; log in again"
		}
	}
	if !h.cfg.Open {
		if c.session == nil {
			return caller{}, http.StatusUnauthorized, "log in with an API key"
		}
		c.p = *c.session
		return c, 0, ""
	}
	slug := strings.TrimSpace(r.Header.Get(HeaderEnv))
	if slug == "" {
		slug = h.cfg.DefaultEnv
	}
	env, ok := h.deps.Registry.Environment(slug)
	if !ok {
		return caller{}, http.StatusNotFound, "unknown environment " + slug
	}
	// Open on loopback: reading needs no key; managing keys needs a session.
	c.p = auth.Principal{KeyID: "ui", Env: env.Slug, EnvName: env.Name, Team: h.deps.Registry.Team(), Legacy: true}
	return c, 0, ""
}

type envJSON struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
}

type sessionJSON struct {
	Mode     string `json:"mode"` // "open" or "login"
	LoggedIn bool   `json:"logged_in"`
	// KeyLogin is set when the browser logged in with a key (needed for
	// key management in open mode).
	KeyLogin     bool      `json:"key_login"`
	Team         string    `json:"team,omitempty"`
	Env          *envJSON  `json:"env,omitempty"`
	Environments []envJSON `json:"environments"`
	Endpoints    struct {
		OTLPHTTP   string `json:"otlp_http"`
		OTLPGRPC   string `json:"otlp_grpc"`
		XRayDaemon string `json:"xray_daemon"`
	} `json:"endpoints"`
	XRay bool `json:"xray"`
}

func (h *handler) session(w http.ResponseWriter, r *http.Request) {
	out := sessionJSON{Mode: "login", Environments: []envJSON{}, XRay: h.deps.XRay != nil}
	if h.cfg.Open {
		out.Mode = "open"
	}
	c, status, _ := h.resolve(r)
	if status == 0 {
		out.LoggedIn = true
		out.KeyLogin = c.session != nil
		out.Team = c.p.Team
		out.Env = &envJSON{Slug: c.p.Env, Name: c.p.EnvName}
		out.Environments = h.visibleEnvs(c)
		out.Endpoints.OTLPHTTP = h.cfg.OTLPHTTPEndpoint
		out.Endpoints.OTLPGRPC = h.cfg.OTLPGRPCEndpoint
		out.Endpoints.XRayDaemon = h.cfg.XRayDaemonAddr
	}
	api.WriteJSON(w, http.StatusOK, out)
}

// visibleEnvs: every environment when open; the key's own when logged in.
func (h *handler) visibleEnvs(c caller) []envJSON {
	var out []envJSON
	for _, e := range h.deps.Registry.Environments() {
		if h.cfg.Open || e.Slug == c.p.Env {
			out = append(out, envJSON{Slug: e.Slug, Name: e.Name})
		}
	}
	if out == nil {
		out = []envJSON{}
	}
	return out
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		api.WriteError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return false
	}
	return true
}

// login starts a server-side session for a key (in open mode too, where
// only key management needs one); the browser gets a random token in an
// HttpOnly, SameSite=Strict cookie, never the key. Failures are limited
// per address (429 with Retry-After).
func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	addr := api.ClientAddr(r)
	if wait, blocked := h.logins.Blocked(addr); blocked {
		api.WriteTooManyFailures(w, wait)
		return
	}
	var in struct {
		Key string `json:"key"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	p, err := h.deps.Registry.Authenticate(r.Context(), strings.TrimSpace(in.Key))
	if err != nil {
		h.logins.Fail(addr)
		api.WriteError(w, http.StatusUnauthorized, err.Error())
		return
	}
	token := h.sessions.create(p.KeyID)
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: token, Path: "/", HttpOnly: true, Secure: h.cfg.SecureCookie,
		SameSite: http.SameSiteStrictMode, MaxAge: int(h.cfg.SessionTTL / time.Second),
	})
	w.WriteHeader(http.StatusNoContent)
}

// logout ends the session on the server and clears the cookie.
func (h *handler) logout(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(CookieName); err == nil {
		h.sessions.end(ck.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", HttpOnly: true, Secure: h.cfg.SecureCookie, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
}

type keyJSON struct {
	ID   string `json:"id"`
	Env  string `json:"env"`
	Name string `json:"name"`
	// Kind is ingest, configuration, management, or "" for a key that may
	// do everything (created before key kinds, or --bootstrap-key).
	Kind      auth.KeyKind      `json:"kind"`
	Access    []auth.Permission `json:"permissions,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	RevokedAt *time.Time        `json:"revoked_at,omitempty"`
	Current   bool              `json:"current,omitempty"` // the key this session logged in with
}

// settings lists the environments and, to a browser logged in with a key,
// the keys it may see: every key when the UI is open on loopback, its own
// environment's otherwise. Without a key login the keys are not listed
// (login_required): any local process can reach the open UI.
func (h *handler) settings(w http.ResponseWriter, _ *http.Request, c caller) {
	if c.session == nil {
		api.WriteJSON(w, http.StatusOK, map[string]any{"environments": h.visibleEnvs(c), "keys": nil, "login_required": true})
		return
	}
	keys := []keyJSON{}
	for _, k := range h.deps.Registry.Keys() {
		if !h.cfg.Open && k.Env != c.session.Env {
			continue
		}
		keys = append(keys, keyJSON{ID: k.ID, Env: k.Env, Name: k.Name, Kind: k.Kind, Access: k.Access, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt, Current: k.ID == c.session.KeyID})
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"environments": h.visibleEnvs(c), "keys": keys, "login_required": false})
}

func (h *handler) createKey(w http.ResponseWriter, r *http.Request, c caller) {
	var in struct {
		Env         string `json:"env"`
		Name        string `json:"name"`
		Kind        string `json:"kind"`        // ingest (default) or configuration
		Permissions string `json:"permissions"` // configuration keys: comma-separated; empty = all
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if !h.mayManageKeys(c) {
		api.WriteError(w, http.StatusForbidden, "log in with a configuration key that has every permission to create or revoke keys")
		return
	}
	kind := auth.KeyKind(strings.TrimSpace(in.Kind))
	if kind == "" {
		kind = auth.KindIngest
	}
	if kind != auth.KindIngest && kind != auth.KindConfiguration {
		api.WriteError(w, http.StatusBadRequest, "kind must be ingest or configuration (management keys are made with `tracecomb keys create --kind management`)")
		return
	}
	perms, err := auth.ParsePermissions(in.Permissions)
	if err != nil {
		api.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	in.Env, in.Name = strings.TrimSpace(in.Env), strings.TrimSpace(in.Name)
	if in.Env == "" {
		in.Env = c.p.Env
	}
	if !h.cfg.Open && in.Env != c.session.Env {
		api.WriteError(w, http.StatusForbidden, "a key can only create keys in its own environment")
		return
	}
	if len(in.Name) > 100 {
		api.WriteError(w, http.StatusBadRequest, "key name is longer than 100 characters")
		return
	}
	rec, secret, err := h.deps.Registry.CreateKey(auth.KeySpec{Env: in.Env, Name: in.Name, Kind: kind, Access: perms})
	if err != nil {
		api.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	h.deps.Logger.Info("key created from the UI", "key_id", rec.ID, "env", rec.Env, "by", c.p.KeyID)
	api.WriteJSON(w, http.StatusCreated, map[string]any{
		"key":    keyJSON{ID: rec.ID, Env: rec.Env, Name: rec.Name, Kind: rec.Kind, Access: rec.Access, CreatedAt: rec.CreatedAt},
		"secret": secret,
	})
}

// mayManageKeys: a browser logged in (in either mode) with a key that may
// do everything or a configuration key with every permission.
func (h *handler) mayManageKeys(c caller) bool {
	if c.session == nil {
		return false
	}
	for _, perm := range auth.Permissions() {
		if !c.session.Can(perm) {
			return false
		}
	}
	return true
}

func (h *handler) revokeKey(w http.ResponseWriter, r *http.Request, c caller) {
	if !h.mayManageKeys(c) {
		api.WriteError(w, http.StatusForbidden, "log in with a configuration key that has every permission to create or revoke keys")
		return
	}
	id := r.PathValue("id")
	var found *auth.KeyRecord
	for _, k := range h.deps.Registry.Keys() {
		if k.ID == id {
			found = &k
			break
		}
	}
	if found == nil || (!h.cfg.Open && found.Env != c.session.Env) {
		api.WriteError(w, http.StatusNotFound, "no such key")
		return
	}
	if err := h.deps.Registry.Revoke(id); err != nil {
		if errors.Is(err, auth.ErrNoSuchKey) {
			api.WriteError(w, http.StatusNotFound, "no such key")
			return
		}
		api.WriteError(w, http.StatusInternalServerError, "cannot revoke the key")
		h.deps.Logger.Error("revoke key", "key_id", id, "err", err)
		return
	}
	h.deps.Logger.Info("key revoked from the UI", "key_id", id, "by", c.p.KeyID)
	w.WriteHeader(http.StatusNoContent)
}

// forwardAPI hands /ui-api/hc/<path> to the API handler as /<path>.
func (h *handler) forwardAPI(w http.ResponseWriter, r *http.Request, c caller) {
	r2 := stripped(r, "/ui-api/hc")
	r2.Header.Del("Cookie")
	r2.Header.Del(HeaderUI)
	r2.Header.Del(HeaderEnv)
	r2.Header.Del("X-Honeycomb-Team")
	r2 = r2.WithContext(api.WithPrincipal(r2.Context(), c.p))
	h.deps.API.ServeHTTP(w, r2)
}

// forwardXRay hands /ui-api/xray/<Op> to the X-Ray handler as /<Op>, with
// the caller's environment in the context.
func (h *handler) forwardXRay(w http.ResponseWriter, r *http.Request, c caller) {
	if h.deps.XRay == nil || h.deps.XRayEnv == nil {
		api.WriteError(w, http.StatusNotFound, "the X-Ray API is not enabled")
		return
	}
	if err := c.p.Check(auth.PermQueries); err != nil {
		api.WriteError(w, http.StatusForbidden, err.Error())
		return
	}
	r2 := stripped(r, "/ui-api/xray")
	r2.Header.Del("Cookie")
	r2.Header.Del("Authorization")
	ctx := h.deps.XRayEnv(r2.Context(), c.p.Env)
	if v := r.Header.Get(HeaderDoors); v != "" && h.deps.XRayDoors != nil {
		var doors []model.Door
		for _, s := range strings.Split(v, ",") {
			d, ok := model.ParseDoor(strings.TrimSpace(s))
			if !ok {
				api.WriteError(w, http.StatusBadRequest, HeaderDoors+": unknown door "+strconv.Quote(strings.TrimSpace(s))+" (want xray, honeycomb or both, comma separated)")
				return
			}
			if !slices.Contains(doors, d) {
				doors = append(doors, d)
			}
		}
		ctx = h.deps.XRayDoors(ctx, doors...)
	}
	h.deps.XRay.ServeHTTP(w, r2.WithContext(ctx))
}

func stripped(r *http.Request, prefix string) *http.Request {
	r2 := r.Clone(r.Context())
	r2.URL.Path = strings.TrimPrefix(r.URL.Path, prefix)
	r2.URL.RawPath = ""
	if r.URL.RawPath != "" {
		r2.URL.RawPath = strings.TrimPrefix(r.URL.RawPath, prefix)
	}
	r2.RequestURI = ""
	return r2
}
