package honeycomb

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/api"
	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/state"
	"github.com/tracecomb/tracecomb/internal/store"
)

// Tenancy is what the team's /2 API manages: its environments and their
// keys (auth.Registry).
type Tenancy interface {
	Team() string
	Environments() []auth.Environment
	Environment(slug string) (auth.Environment, bool)
	CreateEnvironment(spec auth.EnvSpec) (auth.Environment, error)
	UpdateEnvironment(slug string, fn func(*auth.Environment) error) (auth.Environment, error)
	DeleteEnvironment(slug string) error
	Keys() []auth.KeyRecord
	CreateKey(spec auth.KeySpec) (auth.KeyRecord, string, error)
	UpdateKey(id string, u auth.KeyUpdate) (auth.KeyRecord, error)
	DeleteKey(id string) error
}

// jsonAPIType is the media type of every /2 request and answer.
const jsonAPIType = "application/vnd.api+json"

// envColors are the colors Honeycomb gives environments.
var envColors = []string{"blue", "green", "gold", "red", "purple", "lightBlue", "lightGreen", "lightGold", "lightRed", "lightPurple"}

// registerV2 adds the team's /2 API for environments and API keys, in
// JSON:API as Honeycomb's: a management key of the team in the path may
// use it (as Bearer <id>:<secret>).
func registerV2(mux *http.ServeMux, d Deps) {
	v := &v2{t: d.Tenancy, log: d.Logger, store: d.Store, state: d.State}
	route := func(pattern string, fn http.HandlerFunc) {
		mux.Handle(pattern, api.RequireManagementKey(d.Auth, v.team(fn)))
	}
	route("GET /2/teams/{team}/environments", v.listEnvs)
	route("POST /2/teams/{team}/environments", v.createEnv)
	route("GET /2/teams/{team}/environments/{id}", v.getEnv)
	route("PATCH /2/teams/{team}/environments/{id}", v.updateEnv)
	route("DELETE /2/teams/{team}/environments/{id}", v.deleteEnv)
	route("GET /2/teams/{team}/api-keys", v.listKeys)
	route("POST /2/teams/{team}/api-keys", v.createKey)
	route("GET /2/teams/{team}/api-keys/{id}", v.getKey)
	route("PATCH /2/teams/{team}/api-keys/{id}", v.updateKey)
	route("DELETE /2/teams/{team}/api-keys/{id}", v.deleteKey)
}

type v2 struct {
	t     Tenancy
	log   *slog.Logger
	store Reader      // may be nil: deleting an environment then leaves its events
	state state.Store // may be nil, likewise for its datasets' settings
}

func (v *v2) internal(w http.ResponseWriter, what string, err error) {
	v.log.Error("cannot "+what, "err", err)
	v2Error(w, http.StatusInternalServerError, "internal_error", "internal error: cannot "+what, "")
}

// team answers 404 for a team other than the key's.
func (v *v2) team(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := api.PrincipalFrom(r.Context())
		if team := auth.EnvSlug(p.Team); r.PathValue("team") != team {
			v2Error(w, http.StatusNotFound, "not_found", "team not found: this management key belongs to team '"+team+"'", "")
			return
		}
		next(w, r)
	})
}

// v2Error writes one JSON:API error object; pointer names the member of the
// request document at fault, if any.
func v2Error(w http.ResponseWriter, status int, code, detail, pointer string) {
	e := map[string]any{"status": strconv.Itoa(status), "code": code, "title": http.StatusText(status), "detail": detail}
	if pointer != "" {
		e["source"] = map[string]string{"pointer": pointer}
	}
	writeDoc(w, status, map[string]any{"errors": []any{e}})
}

func writeDoc(w http.ResponseWriter, status int, doc any) {
	b, _ := json.Marshal(doc)
	w.Header().Set("Content-Type", jsonAPIType)
	w.WriteHeader(status)
	w.Write(append(b, '\n')) //nolint:errcheck // the client went away
}

// resource is a JSON:API resource object of a request.
type resource struct {
	ID            string                     `json:"id"`
	Type          string                     `json:"type"`
	Attributes    map[string]json.RawMessage `json:"attributes"`
	Relationships map[string]struct {
		Data *struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"data"`
	} `json:"relationships"`
}

// readDoc reads a request document whose data is one resource of type typ
// (and, when id is not empty, of that id). It answers the error itself and
// returns false.
func readDoc(w http.ResponseWriter, r *http.Request, typ, id string) (resource, bool) {
	var doc struct {
		Data *resource `json:"data"`
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, jsonAPIType) && !strings.HasPrefix(ct, "application/json") {
		v2Error(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send the document as "+jsonAPIType, "")
		return resource{}, false
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&doc); err != nil {
		v2Error(w, http.StatusBadRequest, "invalid_json", "the request body is not a JSON:API document: "+err.Error(), "")
		return resource{}, false
	}
	switch {
	case doc.Data == nil:
		v2Error(w, http.StatusUnprocessableEntity, "validation_failed", "the document has no data", "/data")
	case doc.Data.Type != typ:
		v2Error(w, http.StatusConflict, "type_mismatch", "data.type must be '"+typ+"'", "/data/type")
	case id != "" && doc.Data.ID != "" && doc.Data.ID != id:
		v2Error(w, http.StatusConflict, "id_mismatch", "data.id must be the id of the path, '"+id+"'", "/data/id")
	default:
		return *doc.Data, true
	}
	return resource{}, false
}

// attr decodes attribute name into out when present; on a value of the
// wrong type it answers 422 and returns false.
func attr(w http.ResponseWriter, res resource, name string, out any) (present, ok bool) {
	raw, present := res.Attributes[name]
	if !present {
		return false, true
	}
	if err := json.Unmarshal(raw, out); err != nil {
		v2Error(w, http.StatusUnprocessableEntity, "validation_failed", "attribute '"+name+"' has the wrong type", "/data/attributes/"+name)
		return true, false
	}
	return true, true
}

// page applies page[size] and page[after] to ids (in listing order) and
// returns the indexes [from, to) to answer; the cursor is the id of the
// last item of the page before.
func page(w http.ResponseWriter, r *http.Request, ids []string) (from, to int, ok bool) {
	size := 20
	if s := r.URL.Query().Get("page[size]"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			v2Error(w, http.StatusBadRequest, "invalid_parameter", "page[size] must be a number from 1 to 100", "")
			return 0, 0, false
		}
		size = n
	}
	if after := r.URL.Query().Get("page[after]"); after != "" {
		i := slices.Index(ids, after)
		if i < 0 {
			v2Error(w, http.StatusBadRequest, "invalid_parameter", "page[after] is not a cursor of this list", "")
			return 0, 0, false
		}
		from = i + 1
	}
	return from, min(from+size, len(ids)), true
}

// writeList answers a page of a list with its next link.
func writeList(w http.ResponseWriter, r *http.Request, ids []string, data func(i int) any) {
	from, to, ok := page(w, r, ids)
	if !ok {
		return
	}
	items := make([]any, 0, to-from)
	for i := from; i < to; i++ {
		items = append(items, data(i))
	}
	links := map[string]any{}
	if to < len(ids) {
		q := r.URL.Query()
		q.Set("page[after]", ids[to-1])
		links["next"] = r.URL.Path + "?" + q.Encode()
	}
	writeDoc(w, http.StatusOK, map[string]any{"data": items, "links": links})
}

// Environments.

func envDoc(team string, e auth.Environment) map[string]any {
	return map[string]any{
		"id": e.Slug, "type": "environments",
		"attributes": map[string]any{
			"name": e.Name, "slug": e.Slug, "description": e.Description, "color": nullable(e.Color),
			"settings": map[string]bool{"delete_protected": e.Protected()},
		},
		"links": map[string]string{"self": "/2/teams/" + team + "/environments/" + url.PathEscape(e.Slug)},
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (v *v2) listEnvs(w http.ResponseWriter, r *http.Request) {
	envs := v.t.Environments()
	ids := make([]string, len(envs))
	for i, e := range envs {
		ids[i] = e.Slug
	}
	writeList(w, r, ids, func(i int) any { return envDoc(r.PathValue("team"), envs[i]) })
}

func (v *v2) getEnv(w http.ResponseWriter, r *http.Request) {
	e, ok := v.t.Environment(r.PathValue("id"))
	if !ok {
		v2Error(w, http.StatusNotFound, "not_found", "environment not found", "")
		return
	}
	writeDoc(w, http.StatusOK, map[string]any{"data": envDoc(r.PathValue("team"), e)})
}

// envAttrs reads description and color (and settings when withSettings)
// into e.
func envAttrs(w http.ResponseWriter, res resource, e *auth.Environment, withSettings bool) bool {
	var desc, color string
	if has, ok := attr(w, res, "description", &desc); !ok {
		return false
	} else if has {
		if len(desc) > 255 {
			v2Error(w, http.StatusUnprocessableEntity, "validation_failed", "description is longer than 255 characters", "/data/attributes/description")
			return false
		}
		e.Description = desc
	}
	if has, ok := attr(w, res, "color", &color); !ok {
		return false
	} else if has {
		if color != "" && !slices.Contains(envColors, color) {
			v2Error(w, http.StatusUnprocessableEntity, "validation_failed", "color must be one of "+strings.Join(envColors, ", "), "/data/attributes/color")
			return false
		}
		e.Color = color
	}
	if !withSettings {
		return true
	}
	var settings struct {
		DeleteProtected *bool `json:"delete_protected"`
	}
	if _, ok := attr(w, res, "settings", &settings); !ok {
		return false
	}
	if settings.DeleteProtected != nil {
		e.DeleteProtected = settings.DeleteProtected
	}
	return true
}

func (v *v2) createEnv(w http.ResponseWriter, r *http.Request) {
	res, ok := readDoc(w, r, "environments", "")
	if !ok {
		return
	}
	var name string
	if _, ok := attr(w, res, "name", &name); !ok {
		return
	}
	if err := auth.ValidEnvName(name); err != nil {
		v2Error(w, http.StatusUnprocessableEntity, "validation_failed", err.Error(), "/data/attributes/name")
		return
	}
	var e auth.Environment
	if !envAttrs(w, res, &e, false) {
		return
	}
	created, err := v.t.CreateEnvironment(auth.EnvSpec{Name: name, Description: e.Description, Color: e.Color})
	switch {
	case errors.Is(err, auth.ErrEnvExists):
		v2Error(w, http.StatusConflict, "conflict", err.Error(), "/data/attributes/name")
		return
	case err != nil:
		v.internal(w, "create the environment", err)
		return
	}
	writeDoc(w, http.StatusCreated, map[string]any{"data": envDoc(r.PathValue("team"), created)})
}

func (v *v2) updateEnv(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	res, ok := readDoc(w, r, "environments", id)
	if !ok {
		return
	}
	cur, found := v.t.Environment(id)
	if !found {
		v2Error(w, http.StatusNotFound, "not_found", "environment not found", "")
		return
	}
	var name string
	if has, ok := attr(w, res, "name", &name); !ok {
		return
	} else if has && name != cur.Name {
		v2Error(w, http.StatusUnprocessableEntity, "validation_failed", "an environment's name cannot be changed", "/data/attributes/name")
		return
	}
	if !envAttrs(w, res, &cur, true) {
		return
	}
	e, err := v.t.UpdateEnvironment(id, func(e *auth.Environment) error {
		e.Description, e.Color, e.DeleteProtected = cur.Description, cur.Color, cur.DeleteProtected
		return nil
	})
	switch {
	case errors.Is(err, auth.ErrNoSuchEnv):
		v2Error(w, http.StatusNotFound, "not_found", "environment not found", "")
	case err != nil:
		v.internal(w, "update the environment", err)
	default:
		writeDoc(w, http.StatusOK, map[string]any{"data": envDoc(r.PathValue("team"), e)})
	}
}

// deleteEnv deletes an environment that is not delete protected: its
// datasets' events (both doors') first, then every state record of it
// (triggers, SLOs, boards, queries, recipients, … and the datasets'
// settings), then the environment and its keys, so that a failure leaves
// an environment to delete again.
func (v *v2) deleteEnv(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	e, ok := v.t.Environment(id)
	switch {
	case !ok:
		v2Error(w, http.StatusNotFound, "not_found", "environment not found", "")
		return
	case e.Protected():
		v2Error(w, http.StatusConflict, "delete_protected", auth.ErrDeleteProtected.Error(), "")
		return
	}
	if err := v.deleteData(r.Context(), id); err != nil {
		v.internal(w, "delete the environment's data", err)
		return
	}
	err := v.t.DeleteEnvironment(id)
	switch {
	case errors.Is(err, auth.ErrNoSuchEnv):
		v2Error(w, http.StatusNotFound, "not_found", "environment not found", "")
	case errors.Is(err, auth.ErrDeleteProtected):
		v2Error(w, http.StatusConflict, "delete_protected", err.Error(), "")
	case err != nil:
		v.internal(w, "delete the environment", err)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// authKinds are the state kinds internal/auth keeps in an environment's
// scope: its keys and AWS key pairs. Deleting the environment
// (Tenancy.DeleteEnvironment) deletes them; deleteData leaves them so that
// the keys work until then.
var authKinds = []state.Kind{"auth.key", "auth.aws-key"}

// deleteData deletes every dataset of environment env from the store (what
// was sent to either door, store.DoorParts), then, in one transaction,
// every state record of the environment's scopes (store.DoorEnv of each
// door) but its keys.
func (v *v2) deleteData(ctx context.Context, env string) error {
	doors := []model.Door{model.DoorHoneycomb, model.DoorXRay}
	if v.store != nil {
		for _, d := range doors {
			for _, denv := range store.DoorParts(env, d) {
				dss, err := v.store.Datasets(ctx, denv)
				if err != nil {
					return err
				}
				for _, ds := range dss {
					if err := v.store.DeleteDataset(ctx, denv, ds.Name); err != nil && !errors.Is(err, store.ErrNotFound) {
						return err
					}
				}
			}
		}
	}
	if v.state == nil {
		return nil
	}
	n := 0
	err := v.state.Update(ctx, func(tx state.Tx) error {
		n = 0
		for _, d := range doors {
			deleted, err := tx.DeleteScope(store.DoorEnv(env, d), authKinds...)
			if err != nil {
				return err
			}
			n += deleted
		}
		return nil
	})
	if err != nil {
		return err
	}
	v.log.Info("deleted the state of an environment", "env", env, "records", n)
	return nil
}

// API keys: the environments' ingest and configuration keys.

// keyDoc is the JSON:API resource of a key; secret is set only in the
// answer to its creation.
func keyDoc(team string, k auth.KeyRecord, secret string) map[string]any {
	perms := map[string]bool{"create_datasets": !k.NoCreateDatasets}
	if k.Kind == auth.KindConfiguration {
		for _, p := range auth.Permissions() {
			perms[string(p)] = slices.Contains(k.Access, p)
		}
		perms["create_datasets"] = perms[string(auth.PermCreateDatasets)]
	}
	created := k.CreatedAt.UTC().Format(time.RFC3339)
	updated := created
	if k.UpdatedAt != nil {
		updated = k.UpdatedAt.UTC().Format(time.RFC3339)
	}
	attrs := map[string]any{
		"name": k.Name, "key_type": string(k.Kind), "disabled": k.RevokedAt != nil,
		"permissions": perms,
		"timestamps":  map[string]string{"created": created, "updated": updated},
	}
	if secret != "" {
		attrs["secret"] = secret
	}
	return map[string]any{
		"id": k.ID, "type": "api-keys", "attributes": attrs,
		"relationships": map[string]any{"environment": map[string]any{"data": map[string]string{"id": k.Env, "type": "environments"}}},
		"links":         map[string]string{"self": "/2/teams/" + team + "/api-keys/" + url.PathEscape(k.ID)},
	}
}

// envKeys are the keys the /2 API manages, oldest first: the
// environments' ingest and configuration keys.
func (v *v2) envKeys(kind auth.KeyKind) []auth.KeyRecord {
	var out []auth.KeyRecord
	for _, k := range v.t.Keys() {
		if (k.Kind == auth.KindIngest || k.Kind == auth.KindConfiguration) && (kind == "" || k.Kind == kind) {
			out = append(out, k)
		}
	}
	return out
}

func (v *v2) key(w http.ResponseWriter, r *http.Request) (auth.KeyRecord, bool) {
	id := r.PathValue("id")
	for _, k := range v.envKeys("") {
		if k.ID == id {
			return k, true
		}
	}
	v2Error(w, http.StatusNotFound, "not_found", "API key not found", "")
	return auth.KeyRecord{}, false
}

func (v *v2) listKeys(w http.ResponseWriter, r *http.Request) {
	kind := auth.KeyKind(r.URL.Query().Get("filter[type]"))
	if kind != "" && kind != auth.KindIngest && kind != auth.KindConfiguration {
		v2Error(w, http.StatusBadRequest, "invalid_parameter", "filter[type] must be ingest or configuration", "")
		return
	}
	keys := v.envKeys(kind)
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	writeList(w, r, ids, func(i int) any { return keyDoc(r.PathValue("team"), keys[i], "") })
}

func (v *v2) getKey(w http.ResponseWriter, r *http.Request) {
	if k, ok := v.key(w, r); ok {
		writeDoc(w, http.StatusOK, map[string]any{"data": keyDoc(r.PathValue("team"), k, "")})
	}
}

// permissions reads a configuration key's permissions attribute: the
// names of /1/auth's api_key_access (create_datasets too) set to true or
// false; nil when the attribute is absent.
func permissions(w http.ResponseWriter, res resource) (*[]auth.Permission, bool) {
	var m map[string]bool
	has, ok := attr(w, res, "permissions", &m)
	if !ok || !has {
		return nil, ok
	}
	out := []auth.Permission{}
	for name, on := range m {
		p := auth.Permission(name)
		if name == "create_datasets" {
			p = auth.PermCreateDatasets
		}
		if !slices.Contains(auth.Permissions(), p) {
			v2Error(w, http.StatusUnprocessableEntity, "validation_failed", "unknown permission '"+name+"'", "/data/attributes/permissions")
			return nil, false
		}
		if on && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b auth.Permission) int {
		return slices.Index(auth.Permissions(), a) - slices.Index(auth.Permissions(), b)
	})
	return &out, true
}

func (v *v2) createKey(w http.ResponseWriter, r *http.Request) {
	res, ok := readDoc(w, r, "api-keys", "")
	if !ok {
		return
	}
	var name, kind string
	if _, ok := attr(w, res, "name", &name); !ok {
		return
	}
	if _, ok := attr(w, res, "key_type", &kind); !ok {
		return
	}
	spec := auth.KeySpec{Name: name, Kind: auth.KeyKind(kind)}
	switch spec.Kind {
	case auth.KindIngest:
		// Ingest keys send events and, unless create_datasets is false,
		// create datasets; they have no other permission.
		var m map[string]bool
		if _, ok := attr(w, res, "permissions", &m); !ok {
			return
		}
		for p, on := range m {
			if p != "create_datasets" {
				v2Error(w, http.StatusUnprocessableEntity, "validation_failed", "an ingest key has no permission '"+p+"'", "/data/attributes/permissions")
				return
			}
			spec.NoCreateDatasets = !on
		}
	case auth.KindConfiguration:
		perms, ok := permissions(w, res)
		if !ok {
			return
		}
		if perms != nil {
			if len(*perms) == 0 {
				v2Error(w, http.StatusUnprocessableEntity, "validation_failed", "a configuration key needs at least one permission", "/data/attributes/permissions")
				return
			}
			spec.Access = *perms
		}
	default:
		v2Error(w, http.StatusUnprocessableEntity, "validation_failed", "key_type must be ingest or configuration", "/data/attributes/key_type")
		return
	}
	rel := res.Relationships["environment"].Data
	if rel == nil || rel.ID == "" {
		v2Error(w, http.StatusUnprocessableEntity, "validation_failed", "the key needs an environment relationship", "/data/relationships/environment")
		return
	}
	if _, found := v.t.Environment(rel.ID); !found {
		v2Error(w, http.StatusUnprocessableEntity, "validation_failed", "environment not found: '"+rel.ID+"'", "/data/relationships/environment")
		return
	}
	spec.Env = rel.ID
	k, secret, err := v.t.CreateKey(spec)
	if err != nil {
		v.internal(w, "create the key", err)
		return
	}
	if k.Kind == auth.KindIngest {
		// The key is its id and its secret, concatenated.
		secret = strings.TrimPrefix(secret, k.ID)
	}
	writeDoc(w, http.StatusCreated, map[string]any{"data": keyDoc(r.PathValue("team"), k, secret)})
}

func (v *v2) updateKey(w http.ResponseWriter, r *http.Request) {
	k, ok := v.key(w, r)
	if !ok {
		return
	}
	res, ok := readDoc(w, r, "api-keys", k.ID)
	if !ok {
		return
	}
	var u auth.KeyUpdate
	var name string
	if has, ok := attr(w, res, "name", &name); !ok {
		return
	} else if has {
		u.Name = &name
	}
	var disabled, enabled bool
	if has, ok := attr(w, res, "disabled", &disabled); !ok {
		return
	} else if has {
		u.Disabled = &disabled
	}
	if has, ok := attr(w, res, "enabled", &enabled); !ok {
		return
	} else if has {
		off := !enabled
		u.Disabled = &off
	}
	if _, has := res.Attributes["permissions"]; has {
		if k.Kind != auth.KindConfiguration {
			v2Error(w, http.StatusUnprocessableEntity, "validation_failed", "an ingest key's permissions cannot be changed", "/data/attributes/permissions")
			return
		}
		if u.Access, ok = permissions(w, res); !ok {
			return
		}
	}
	k, err := v.t.UpdateKey(k.ID, u)
	switch {
	case errors.Is(err, auth.ErrNoSuchKey):
		v2Error(w, http.StatusNotFound, "not_found", "API key not found", "")
	case err != nil:
		v.internal(w, "update the key", err)
	default:
		writeDoc(w, http.StatusOK, map[string]any{"data": keyDoc(r.PathValue("team"), k, "")})
	}
}

func (v *v2) deleteKey(w http.ResponseWriter, r *http.Request) {
	k, ok := v.key(w, r)
	if !ok {
		return
	}
	switch err := v.t.DeleteKey(k.ID); {
	case errors.Is(err, auth.ErrNoSuchKey):
		v2Error(w, http.StatusNotFound, "not_found", "API key not found", "")
	case err != nil:
		v.internal(w, "delete the key", err)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}
