package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tracecomb/tracecomb/internal/state"
)

// The registry keeps the team's environments and keys in the state store
// (package state), one record per environment and per key, so the
// `tracecomb keys` commands work whether or not a server is running: they
// write through their own handle on the store, and a running server hears
// of the change from the store's Watch and reloads within a second. That
// is how a revoked key stops working at once without any admin endpoint.
// A data directory from before the state store has its auth.json imported
// on first start (Import).
//
// Honeycomb keys are stored as SHA-256 hashes of a per-key random salt
// followed by the key: generated keys carry 128 or more random bits, so a
// fast hash is as safe as a slow one; the salt keeps a chosen key (such as
// --bootstrap-key's) from being found by hashing guesses once for every
// registry. A request finds its key's record by the key's public id where
// the key contains it (ingest keys, management keys), else among the few
// keys that do not (configuration keys, chosen keys), remembering in
// memory which record a key verified against. AWS-style
// secret access keys must be kept in the clear (SigV4 is an HMAC keyed by
// the secret), which is why the file is written with mode 0600.

// Names of the keys Bootstrap creates, so that Settings tells them apart.
const (
	FirstKeyName       = "first ingest key (generated at first start)"
	FirstConfigKeyName = "first configuration key (generated at first start)"
	BootstrapKeyName   = "--bootstrap-key"
)

// FileName is the file an older tracecomb kept the registry in, inside the
// data directory; Import moves it into the state store.
const FileName = "auth.json"

// DefaultEnv is the environment the first start creates, as Honeycomb does.
const DefaultEnv = "test"

const formatVersion = 1

// Environment is one environment of the team.
type Environment struct {
	Slug        string    `json:"slug"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Color       string    `json:"color,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	// DeleteProtected is nil for an environment stored before the
	// setting existed: protected, as a new one is by default.
	DeleteProtected *bool `json:"delete_protected,omitempty"`
}

// KeyRecord is a stored Honeycomb-style key (never its secret).
type KeyRecord struct {
	ID   string `json:"id"`
	Env  string `json:"env"`
	Name string `json:"name,omitempty"`
	// Hash is the hex SHA-256 of Salt's bytes followed by the key (of the
	// key alone for a key stored before salts).
	Hash string `json:"sha256"`
	Salt string `json:"salt,omitempty"` // hex, 16 random bytes per key
	// Kind is the key's kind; empty for a key stored before kinds existed
	// or given by --bootstrap-key, which may do everything.
	Kind KeyKind `json:"kind,omitempty"`
	// Access lists a configuration key's permissions.
	Access []Permission `json:"access,omitempty"`
	// NoCreateDatasets is set for an ingest key that may not create
	// datasets (Honeycomb's create_datasets permission turned off).
	NoCreateDatasets bool       `json:"no_create_datasets,omitempty"`
	CreatedAt        time.Time  `json:"created_at"`
	RevokedAt        *time.Time `json:"revoked_at,omitempty"`
	// UpdatedAt is when UpdateKey last changed the key.
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
}

// AWSKeyRecord is a stored AWS-style access key pair for SigV4.
type AWSKeyRecord struct {
	AccessKeyID     string     `json:"access_key_id"`
	SecretAccessKey string     `json:"secret_access_key"`
	Env             string     `json:"env"`
	CreatedAt       time.Time  `json:"created_at"`
	RevokedAt       *time.Time `json:"revoked_at,omitempty"`
}

type fileData struct {
	Version      int            `json:"version"`
	Team         string         `json:"team"`
	Environments []Environment  `json:"environments"`
	Keys         []KeyRecord    `json:"keys"`
	AWSKeys      []AWSKeyRecord `json:"aws_keys"`
}

// Registry is the team's environments and keys, kept in the state store
// (kinds auth.team, auth.environment, auth.key, auth.aws-key) and mirrored
// in memory, where every request is checked. It implements Authenticator.
type Registry struct {
	st     state.Store
	owned  bool // Open opened st and Close closes it
	logger *slog.Logger
	now    func() time.Time

	// reloadMu orders reloads: each reads the state store and installs
	// what it read under it, so a reload that read before a change
	// cannot install its older records after one that read the change.
	reloadMu sync.Mutex

	mu     sync.RWMutex
	data   fileData
	byHash map[[32]byte]*KeyRecord // keys stored before salts, by their hash
	byID   map[string]*KeyRecord   // salted keys whose id is part of the key
	// undivided are the salted keys that do not carry their id
	// (configuration keys, chosen keys): a key is checked against each.
	undivided []*KeyRecord
	// seen remembers, in memory only, the record a key (by its unsalted
	// SHA-256) verified against; at most one entry per record.
	seenMu sync.Mutex
	seen   map[[32]byte]*KeyRecord
	byAWS  map[string]*AWSKeyRecord
}

// Open opens the registry of the data directory dir in its own embedded
// state store (state.OpenFile), importing an auth.json an older tracecomb
// left there; Close closes it. The server shares one state store among its
// parts and uses New.
func Open(dir string, logger *slog.Logger) (*Registry, error) {
	st, err := state.OpenFile(dir)
	if err != nil {
		return nil, err
	}
	if err := Import(context.Background(), st, dir, logger); err != nil {
		st.Close()
		return nil, err
	}
	r, err := New(context.Background(), st, logger)
	if err != nil {
		st.Close()
		return nil, err
	}
	r.owned = true
	return r, nil
}

// New reads the registry from st.
func New(ctx context.Context, st state.Store, logger *slog.Logger) (*Registry, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Registry{st: st, logger: logger, now: time.Now}
	if err := r.reload(ctx); err != nil {
		return nil, err
	}
	for _, k := range r.Keys() {
		if k.Kind == "" && k.Name != BootstrapKeyName && k.RevokedAt == nil {
			logger.Info("a key created before key kinds keeps every permission (send, read, configure); "+
				"create ingest and configuration keys with `tracecomb keys create --kind` and revoke it when you can",
				"key", k.ID, "name", k.Name)
		}
	}
	return r, nil
}

// Close closes the state store when Open opened it.
func (r *Registry) Close() error {
	if r.owned {
		return r.st.Close()
	}
	return nil
}

// Import moves the auth.json that a tracecomb before the state store kept
// in dir into st, once: when st holds no team yet. The file is renamed
// auth.json.imported.
func Import(ctx context.Context, st state.Store, dir string, logger *slog.Logger) error {
	path := filepath.Join(dir, FileName)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", path, err)
	}
	var d fileData
	if err := json.Unmarshal(b, &d); err != nil {
		return fmt.Errorf("key registry %s is corrupt: %w", path, err)
	}
	if d.Version > formatVersion {
		return fmt.Errorf("key registry %s has format version %d; this build knows up to %d", path, d.Version, formatVersion)
	}
	err = st.Update(ctx, func(tx state.Tx) error {
		if _, err := tx.Get(kindTeam, "", "team"); err == nil {
			return errImported
		}
		return write(tx, fileData{}, d)
	})
	if err != nil && !errors.Is(err, errImported) {
		return fmt.Errorf("cannot import %s: %w", path, err)
	}
	if err := os.Rename(path, path+".imported"); err != nil {
		return err
	}
	if logger != nil && err == nil {
		logger.Info("key registry imported into the state store", "from", path, "keys", len(d.Keys))
	}
	return nil
}

var errImported = errors.New("already imported")

// The registry's kinds in the state store.
const (
	kindTeam   state.Kind = "auth.team"
	kindEnv    state.Kind = "auth.environment"
	kindKey    state.Kind = "auth.key"
	kindAWSKey state.Kind = "auth.aws-key"
)

// Bootstrap makes sure the team has at least one environment and key. On an
// empty registry it creates environment "test" and, when key is empty, an
// ingest key (to send data) and a configuration key with every permission
// (for the API and the UI), returning both secrets to be shown once. When
// key is non-empty it makes sure that key exists in "test" (so a compose
// file's fixed key keeps working), as a key that may do everything, and
// returns it when it was created. On a registry that already has keys and
// no key is given it creates nothing.
func (r *Registry) Bootstrap(key string) (created []CreatedKey, err error) {
	err = r.update(func(d *fileData) error {
		if len(d.Keys) > 0 {
			if key == "" {
				return nil
			}
			for i := range d.Keys {
				if matches(&d.Keys[i], key) {
					return nil
				}
			}
		}
		ensureEnv(d, DefaultEnv, r.now())
		if key != "" {
			rec := KeyRecord{ID: keyID(key), Env: DefaultEnv, Name: BootstrapKeyName, CreatedAt: r.now().UTC()}
			rec.Salt, rec.Hash = saltedHash(key)
			d.Keys = append(d.Keys, rec)
			created = append(created, CreatedKey{rec, key})
			return nil
		}
		for _, spec := range []KeySpec{
			{Env: DefaultEnv, Name: FirstKeyName, Kind: KindIngest},
			{Env: DefaultEnv, Name: FirstConfigKeyName, Kind: KindConfiguration},
		} {
			rec, secret := newKey(spec, DefaultEnv, r.now())
			d.Keys = append(d.Keys, rec)
			created = append(created, CreatedKey{rec, secret})
		}
		return nil
	})
	return created, err
}

// CreatedKey is a new key's record and its secret, which is not stored.
type CreatedKey struct {
	KeyRecord
	Secret string
}

// KeySpec describes a key to create.
type KeySpec struct {
	Env  string // environment name (created when missing; "" for a management key)
	Name string
	Kind KeyKind // KindIngest when empty
	// Access lists a configuration key's permissions; empty means every
	// permission.
	Access []Permission
	// NoCreateDatasets makes an ingest key that may send to existing
	// datasets only.
	NoCreateDatasets bool
}

// ParsePermissions reads a comma-separated list of permission names
// (api_key_access names, e.g. "queries,columns,markers").
func ParsePermissions(s string) ([]Permission, error) {
	var out []Permission
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !slices.Contains(Permissions(), Permission(f)) {
			return nil, fmt.Errorf("unknown permission %q (want some of %s)", f, permissionNames())
		}
		out = append(out, Permission(f))
	}
	return out, nil
}

func permissionNames() string {
	var names []string
	for _, p := range Permissions() {
		names = append(names, string(p))
	}
	return strings.Join(names, ", ")
}

// CreateKey creates a key (creating its environment when it does not
// exist) and returns the record and the secret, which is not stored. A
// management key belongs to the team and is presented as
// "Authorization: Bearer <id>:<secret>", which is what the secret holds.
func (r *Registry) CreateKey(spec KeySpec) (KeyRecord, string, error) {
	if spec.Kind == "" {
		spec.Kind = KindIngest
	}
	switch spec.Kind {
	case KindIngest, KindConfiguration:
		if err := validEnvName(spec.Env); err != nil {
			return KeyRecord{}, "", err
		}
	case KindManagement:
		if spec.Env != "" {
			return KeyRecord{}, "", errors.New("a management key belongs to the team, not to an environment")
		}
	default:
		return KeyRecord{}, "", fmt.Errorf("unknown key kind %q (want ingest, configuration or management)", spec.Kind)
	}
	if len(spec.Access) > 0 && spec.Kind != KindConfiguration {
		return KeyRecord{}, "", errors.New("only configuration keys have permissions to choose")
	}
	if spec.NoCreateDatasets && spec.Kind != KindIngest {
		return KeyRecord{}, "", errors.New("only an ingest key is refused dataset creation this way")
	}
	var rec KeyRecord
	var secret string
	err := r.update(func(d *fileData) error {
		env := ""
		if spec.Kind != KindManagement {
			env = ensureEnv(d, spec.Env, r.now()).Slug
		}
		rec, secret = newKey(spec, env, r.now())
		d.Keys = append(d.Keys, rec)
		return nil
	})
	return rec, secret, err
}

// newKey makes a key of spec's kind in environment env: an ingest key in
// Honeycomb's shape ("hcaik_" + 26-character id + 32-character secret, the
// id its first 32 characters), a configuration key as a 22-character token
// with an "hcalk_" id, a management key as "hcamk_<id>:<secret>".
func newKey(spec KeySpec, env string, now time.Time) (KeyRecord, string) {
	rec := KeyRecord{Env: env, Name: spec.Name, Kind: spec.Kind, NoCreateDatasets: spec.NoCreateDatasets, CreatedAt: now.UTC()}
	var secret string
	switch spec.Kind {
	case KindConfiguration:
		secret = randomToken(22)
		rec.ID = "hcalk_" + strings.ToLower(b32.EncodeToString(randBytes(17)))[:26]
		rec.Access = slices.Clone(spec.Access)
		if len(rec.Access) == 0 {
			rec.Access = Permissions()
		}
	case KindManagement:
		rec.ID = "hcamk_" + strings.ToLower(b32.EncodeToString(randBytes(17)))[:26]
		secret = rec.ID + ":" + hex.EncodeToString(randBytes(16))
	default:
		secret = newIngestKey()
		rec.ID = keyID(secret)
	}
	rec.Salt, rec.Hash = saltedHash(secret)
	return rec, secret
}

func randomToken(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := randBytes(n)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)] // 256 % 62 bias: < 0.5% per character, fine for a 131-bit token
	}
	return string(b)
}

// CreateAWSKey creates an AWS-style access key pair in env.
func (r *Registry) CreateAWSKey(env string) (AWSKeyRecord, error) {
	if err := validEnvName(env); err != nil {
		return AWSKeyRecord{}, err
	}
	var rec AWSKeyRecord
	err := r.update(func(d *fileData) error {
		e := ensureEnv(d, env, r.now())
		rec = AWSKeyRecord{AccessKeyID: newAccessKeyID(), SecretAccessKey: newSecretAccessKey(), Env: e.Slug, CreatedAt: r.now().UTC()}
		d.AWSKeys = append(d.AWSKeys, rec)
		return nil
	})
	return rec, err
}

// ErrNoSuchKey is returned by Revoke for an id it does not know.
var ErrNoSuchKey = errors.New("no such key")

// Revoke disables a key by its id (a Honeycomb key id or an AWS access key
// id). Revoking twice is not an error.
func (r *Registry) Revoke(id string) error {
	return r.update(func(d *fileData) error {
		now := r.now().UTC()
		for i := range d.Keys {
			if d.Keys[i].ID == id {
				if d.Keys[i].RevokedAt == nil {
					d.Keys[i].RevokedAt = &now
				}
				return nil
			}
		}
		for i := range d.AWSKeys {
			if d.AWSKeys[i].AccessKeyID == id {
				if d.AWSKeys[i].RevokedAt == nil {
					d.AWSKeys[i].RevokedAt = &now
				}
				return nil
			}
		}
		return fmt.Errorf("%w: %q", ErrNoSuchKey, id)
	})
}

// Keys lists the Honeycomb-style keys, oldest first.
func (r *Registry) Keys() []KeyRecord {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return append([]KeyRecord(nil), r.data.Keys...)
}

// AWSKeys lists the AWS-style keys, oldest first (secrets included).
func (r *Registry) AWSKeys() []AWSKeyRecord {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return append([]AWSKeyRecord(nil), r.data.AWSKeys...)
}

// Environments lists the environments, ordered by slug.
func (r *Registry) Environments() []Environment {
	r.mu.RLock()
	defer r.mu.RUnlock()
	envs := append([]Environment(nil), r.data.Environments...)
	sort.Slice(envs, func(i, j int) bool { return envs[i].Slug < envs[j].Slug })
	return envs
}

// Environment returns one environment by slug.
func (r *Registry) Environment(slug string) (Environment, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, e := range r.data.Environments {
		if e.Slug == slug {
			return e, true
		}
	}
	return Environment{}, false
}

// Team returns the team's name.
func (r *Registry) Team() string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.data.Team
}

// Authenticate implements Authenticator.
func (r *Registry) Authenticate(_ context.Context, key string) (Principal, error) {
	key = strings.TrimSpace(key)
	if key == "" {
		return Principal{}, ErrMissingKey
	}
	h := sha256.Sum256([]byte(key))
	r.mu.RLock()
	defer r.mu.RUnlock()
	rec := r.find(h, key)
	if rec == nil {
		return Principal{}, ErrUnknownKey
	}
	return r.principal(rec)
}

// PrincipalByID returns the Principal of the key with this public id, as
// Authenticate would for the key itself: a session that logged in with a
// key keeps only its id and is refused the moment the key is revoked.
func (r *Registry) PrincipalByID(id string) (Principal, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for i := range r.data.Keys {
		if r.data.Keys[i].ID == id {
			return r.principal(&r.data.Keys[i])
		}
	}
	return Principal{}, ErrUnknownKey
}

// principal is who rec speaks for; the caller holds r.mu for reading.
func (r *Registry) principal(rec *KeyRecord) (Principal, error) {
	if rec.RevokedAt != nil {
		return Principal{}, ErrDisabledKey
	}
	p := Principal{KeyID: rec.ID, KeyName: rec.Name, Env: rec.Env, EnvName: rec.Env, Team: r.data.Team, Kind: rec.Kind, Legacy: rec.Kind == "", NoCreateDatasets: rec.NoCreateDatasets}
	if rec.Kind == KindConfiguration {
		p.Access = make(map[Permission]bool, len(rec.Access))
		for _, perm := range rec.Access {
			p.Access[perm] = true
		}
	}
	for _, e := range r.data.Environments {
		if e.Slug == rec.Env {
			p.EnvName = e.Name
		}
	}
	return p, nil
}

// find returns the record of key (whose unsalted SHA-256 is h), or nil.
// The caller holds r.mu for reading.
func (r *Registry) find(h [32]byte, key string) *KeyRecord {
	if rec, ok := r.byHash[h]; ok { // stored before salts
		return rec
	}
	r.seenMu.Lock()
	rec, ok := r.seen[h]
	r.seenMu.Unlock()
	if ok {
		return rec
	}
	var candidates []*KeyRecord
	if id, ok := derivedID(key); ok {
		if rec, ok := r.byID[id]; ok {
			candidates = append(candidates, rec)
		}
	} else {
		candidates = r.undivided
	}
	for _, rec := range candidates {
		if matches(rec, key) {
			r.seenMu.Lock()
			r.seen[h] = rec
			r.seenMu.Unlock()
			return rec
		}
	}
	return nil
}

// LookupAWS returns the secret and environment of an active AWS access key.
func (r *Registry) LookupAWS(accessKeyID string) (secret, env string, ok bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	rec, found := r.byAWS[accessKeyID]
	if !found || rec.RevokedAt != nil {
		return "", "", false
	}
	return rec.SecretAccessKey, rec.Env, true
}

// Watch reloads the registry whenever it changes in the state store (a key
// created or revoked by this process, another one such as `tracecomb
// keys`, or another node), until ctx is done.
func (r *Registry) Watch(ctx context.Context) {
	for c := range r.st.Watch(ctx) {
		if c.Kind != "" && !strings.HasPrefix(string(c.Kind), "auth.") {
			continue
		}
		if err := r.reload(ctx); err != nil {
			r.logger.Warn("cannot reload the key registry", "err", err)
		}
	}
}

func (r *Registry) reload(ctx context.Context) error {
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	d, err := read(ctx, r.st.ListAll)
	if err != nil {
		return err
	}
	r.install(d)
	return nil
}

// read loads the registry's records with list (a store's or a
// transaction's ListAll).
func read(ctx context.Context, list func(context.Context, state.Kind) ([]state.Record, error)) (fileData, error) {
	d := fileData{Version: formatVersion, Team: "tracecomb"}
	team, err := list(ctx, kindTeam)
	if err != nil {
		return d, err
	}
	for _, rec := range team {
		var t struct{ Name string }
		if json.Unmarshal(rec.Value, &t) == nil && t.Name != "" {
			d.Team = t.Name
		}
	}
	if err := decodeAll(ctx, list, kindEnv, &d.Environments); err != nil {
		return d, err
	}
	if err := decodeAll(ctx, list, kindKey, &d.Keys); err != nil {
		return d, err
	}
	if err := decodeAll(ctx, list, kindAWSKey, &d.AWSKeys); err != nil {
		return d, err
	}
	// Oldest first, as listed before the state store.
	sort.SliceStable(d.Keys, func(i, j int) bool { return d.Keys[i].CreatedAt.Before(d.Keys[j].CreatedAt) })
	sort.SliceStable(d.AWSKeys, func(i, j int) bool { return d.AWSKeys[i].CreatedAt.Before(d.AWSKeys[j].CreatedAt) })
	return d, nil
}

func decodeAll[T any](ctx context.Context, list func(context.Context, state.Kind) ([]state.Record, error), kind state.Kind, out *[]T) error {
	recs, err := list(ctx, kind)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		var v T
		if err := json.Unmarshal(rec.Value, &v); err != nil {
			return fmt.Errorf("state record %s %s/%s is corrupt: %w", kind, rec.Scope, rec.Key, err)
		}
		*out = append(*out, v)
	}
	return nil
}

func (r *Registry) install(d fileData) {
	byHash := map[[32]byte]*KeyRecord{}
	byID := map[string]*KeyRecord{}
	var undivided []*KeyRecord
	for i := range d.Keys {
		rec := &d.Keys[i]
		raw, err := hex.DecodeString(rec.Hash)
		if err != nil || len(raw) != 32 {
			r.logger.Warn("key registry: bad hash, key ignored", "id", rec.ID)
			continue
		}
		switch {
		case rec.Salt == "":
			byHash[[32]byte(raw)] = rec
		case rec.Kind == KindIngest || rec.Kind == KindManagement:
			byID[rec.ID] = rec
		default:
			undivided = append(undivided, rec)
		}
	}
	byAWS := make(map[string]*AWSKeyRecord, len(d.AWSKeys))
	for i := range d.AWSKeys {
		byAWS[d.AWSKeys[i].AccessKeyID] = &d.AWSKeys[i]
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.data, r.byHash, r.byID, r.undivided, r.byAWS = d, byHash, byID, undivided, byAWS
	r.seenMu.Lock()
	r.seen = map[[32]byte]*KeyRecord{}
	r.seenMu.Unlock()
}

// update applies fn to the registry as stored, in one state transaction,
// writes what fn changed and reloads.
func (r *Registry) update(fn func(*fileData) error) error {
	ctx := context.Background()
	err := r.st.Update(ctx, func(tx state.Tx) error {
		list := func(_ context.Context, kind state.Kind) ([]state.Record, error) { return txListAll(tx, kind) }
		before, err := read(ctx, list)
		if err != nil {
			return err
		}
		after, err := read(ctx, list) // a copy fn may change
		if err != nil {
			return err
		}
		if err := fn(&after); err != nil {
			return err
		}
		return write(tx, before, after)
	})
	if err != nil {
		return err
	}
	return r.reload(ctx)
}

// txListAll lists a kind in a transaction: the team scope and every
// environment's (environments are team-scoped records).
func txListAll(tx state.Tx, kind state.Kind) ([]state.Record, error) {
	if kind == kindTeam || kind == kindEnv {
		return tx.List(kind, "")
	}
	envs, err := tx.List(kindEnv, "")
	if err != nil {
		return nil, err
	}
	out, err := tx.List(kind, "") // management keys
	if err != nil {
		return nil, err
	}
	for _, e := range envs {
		recs, err := tx.List(kind, e.Key)
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
	}
	return out, nil
}

// write stores what differs between before and after, deleting the
// environments and keys after no longer has.
func write(tx state.Tx, before, after fileData) error {
	if err := deleteRemoved(tx, before, after); err != nil {
		return err
	}
	put := func(kind state.Kind, scope, key string, old, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if old != nil {
			if ob, _ := json.Marshal(old); bytes.Equal(ob, b) {
				return nil
			}
		}
		_, err = tx.Put(state.Record{Kind: kind, Scope: scope, Key: key, Value: b}, state.AnyVersion)
		return err
	}
	if before.Team != after.Team || before.Team == "" {
		team := after.Team
		if team == "" {
			team = "tracecomb"
		}
		if err := put(kindTeam, "", "team", nil, map[string]string{"name": team}); err != nil {
			return err
		}
	}
	oldEnvs := map[string]Environment{}
	for _, e := range before.Environments {
		oldEnvs[e.Slug] = e
	}
	for _, e := range after.Environments {
		var old any
		if o, ok := oldEnvs[e.Slug]; ok {
			old = o
		}
		if err := put(kindEnv, "", e.Slug, old, e); err != nil {
			return err
		}
	}
	oldKeys := map[string]KeyRecord{}
	for _, k := range before.Keys {
		oldKeys[k.ID] = k
	}
	for _, k := range after.Keys {
		var old any
		if o, ok := oldKeys[k.ID]; ok {
			old = o
		}
		if err := put(kindKey, k.Env, k.ID, old, k); err != nil {
			return err
		}
	}
	oldAWS := map[string]AWSKeyRecord{}
	for _, k := range before.AWSKeys {
		oldAWS[k.AccessKeyID] = k
	}
	for _, k := range after.AWSKeys {
		var old any
		if o, ok := oldAWS[k.AccessKeyID]; ok {
			old = o
		}
		if err := put(kindAWSKey, k.Env, k.AccessKeyID, old, k); err != nil {
			return err
		}
	}
	return nil
}

var envNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 _.-]{0,254}$`)

func validEnvName(name string) error {
	if !envNameRE.MatchString(name) {
		return fmt.Errorf("invalid environment name %q: 1-255 letters, digits, space, '_', '.', '-', starting with a letter or digit", name)
	}
	return nil
}

// EnvSlug returns the slug of an environment name (lowercase, runs of other
// characters as '-').
func EnvSlug(name string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(name) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

func ensureEnv(d *fileData, name string, now time.Time) Environment {
	slug := EnvSlug(name)
	for _, e := range d.Environments {
		if e.Slug == slug {
			return e
		}
	}
	e := Environment{Slug: slug, Name: name, CreatedAt: now.UTC()}
	d.Environments = append(d.Environments, e)
	return e
}

// saltedHash returns a new random salt and the key's hash with it.
func saltedHash(key string) (salt, hash string) {
	salt = hex.EncodeToString(randBytes(16))
	return salt, hashWithSalt(salt, key)
}

func hashWithSalt(salt, key string) string {
	raw, _ := hex.DecodeString(salt)
	h := sha256.New()
	h.Write(raw)
	h.Write([]byte(strings.TrimSpace(key)))
	return hex.EncodeToString(h.Sum(nil))
}

// matches reports whether key is rec's key.
func matches(rec *KeyRecord, key string) bool {
	want := hashKey(key)
	if rec.Salt != "" {
		want = hashWithSalt(rec.Salt, key)
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(rec.Hash)) == 1
}

// derivedID is the public id a key carries in itself: an ingest key's
// first 32 characters, a management key's part before the colon.
func derivedID(key string) (string, bool) {
	if len(key) == 64 && strings.HasPrefix(key, "hc") && key[3:6] == "ik_" {
		return key[:32], true
	}
	if id, _, ok := strings.Cut(key, ":"); ok && strings.HasPrefix(id, "hcamk_") {
		return id, true
	}
	return "", false
}

func hashKey(key string) string {
	h := sha256.Sum256([]byte(strings.TrimSpace(key)))
	return hex.EncodeToString(h[:])
}

// keyID is the public id of a key: for a generated key (Honeycomb's shape:
// "hcaik_" + 26-character id + 32-character secret) its first 32
// characters; for a key chosen by the user, "hcaik_" + a hash-derived id.
func keyID(key string) string {
	if len(key) == 64 && strings.HasPrefix(key, "hcaik_") {
		return key[:32]
	}
	h := sha256.Sum256([]byte("id:" + key))
	return "hcaik_" + strings.ToLower(b32.EncodeToString(h[:]))[:26]
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

func randBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error()) // never happens on Linux
	}
	return b
}

// newIngestKey returns a new key in Honeycomb's ingest key shape: 64
// characters, "hcaik_" + 26 lowercase base32 + 32 lowercase hex.
func newIngestKey() string {
	id := strings.ToLower(b32.EncodeToString(randBytes(17)))[:26]
	return "hcaik_" + id + hex.EncodeToString(randBytes(16))
}

func newAccessKeyID() string {
	return "AKIA" + b32.EncodeToString(randBytes(10))[:16]
}

func newSecretAccessKey() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := randBytes(40)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
