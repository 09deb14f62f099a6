package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestBootstrapCreatesTestEnvOnce: a new registry gets environment "test"
// with an ingest key (Honeycomb's 64-character shape, send only) and a
// configuration key (22 characters, every permission); a second bootstrap
// creates nothing; no secret is stored.
func TestBootstrapCreatesTestEnvOnce(t *testing.T) {
	dir := t.TempDir()
	r, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := r.Bootstrap("")
	if err != nil || len(keys) != 2 {
		t.Fatalf("Bootstrap = %d keys, %v; want an ingest and a configuration key", len(keys), err)
	}
	ingest, config := keys[0], keys[1]
	if ingest.Kind != KindIngest || len(ingest.Secret) != 64 || !strings.HasPrefix(ingest.Secret, "hcaik_") {
		t.Fatalf("ingest key %+v: want Honeycomb's 64-character ingest key shape", ingest)
	}
	if config.Kind != KindConfiguration || len(config.Secret) != 22 || !strings.HasPrefix(config.ID, "hcalk_") {
		t.Fatalf("configuration key %+v: want a 22-character token with an hcalk_ id", config)
	}
	p, err := r.Authenticate(context.Background(), ingest.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if p.Env != DefaultEnv || p.KeyID != ingest.Secret[:32] || !p.Can(PermEvents) || p.Can(PermQueries) || p.Can(PermRead) {
		t.Fatalf("ingest principal = %+v", p)
	}
	p, err = r.Authenticate(context.Background(), config.Secret)
	if err != nil {
		t.Fatal(err)
	}
	for _, perm := range append(Permissions(), PermRead, PermAnyKey) {
		if !p.Can(perm) {
			t.Errorf("the first configuration key cannot %s", perm)
		}
	}
	if again, err := r.Bootstrap(""); err != nil || len(again) != 0 {
		t.Fatalf("second bootstrap created %v, %v; want nothing", again, err)
	}
	r.Close() // the state store's files, WAL included, hold no secret
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Fatalf("data directory: %v, %v", entries, err)
	}
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(ingest.Secret[32:])) || bytes.Contains(raw, []byte(config.Secret)) {
			t.Fatalf("a key's secret is stored in the clear in %s", e.Name())
		}
	}
}

// TestBootstrapWithChosenKey: --bootstrap-key's key may do everything (a
// local convenience for scripts), is added once, and a later start with
// another fixed key adds that one too.
func TestBootstrapWithChosenKey(t *testing.T) {
	dir := t.TempDir()
	r, _ := Open(dir, nil)
	secrets := func(keys []CreatedKey) []string {
		var out []string
		for _, k := range keys {
			out = append(out, k.Secret)
		}
		return out
	}
	if k, err := r.Bootstrap("compose-key"); err != nil || !slices.Equal(secrets(k), []string{"compose-key"}) {
		t.Fatalf("Bootstrap = %v, %v", secrets(k), err)
	}
	if k, _ := r.Bootstrap("second-key"); !slices.Equal(secrets(k), []string{"second-key"}) {
		t.Fatalf("second fixed key not added: %v", secrets(k))
	}
	if k, _ := r.Bootstrap("compose-key"); len(k) != 0 {
		t.Fatalf("existing fixed key added twice")
	}
	if n := len(r.Keys()); n != 2 {
		t.Fatalf("%d keys, want 2", n)
	}
	for _, k := range []string{"compose-key", " compose-key ", "second-key"} {
		p, err := r.Authenticate(context.Background(), k)
		if err != nil || !p.Legacy || !p.Can(PermEvents) || !p.Can(PermQueries) {
			t.Errorf("Authenticate(%q) = %+v, %v; want a key that may send and read", k, p, err)
		}
	}
}

// TestKeyKinds: what each kind may do, as Honeycomb's keys.
func TestKeyKinds(t *testing.T) {
	r, _ := Open(t.TempDir(), nil)
	create := func(spec KeySpec) Principal {
		t.Helper()
		_, secret, err := r.CreateKey(spec)
		if err != nil {
			t.Fatal(err)
		}
		p, err := r.Authenticate(context.Background(), secret)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	ingest := create(KeySpec{Env: "prod", Kind: KindIngest})
	queriesOnly := create(KeySpec{Env: "prod", Kind: KindConfiguration, Access: []Permission{PermQueries, PermColumns}})
	mgmt := create(KeySpec{Kind: KindManagement})
	for _, c := range []struct {
		name string
		p    Principal
		perm Permission
		want bool
	}{
		{"ingest sends", ingest, PermEvents, true},
		{"ingest creates datasets", ingest, PermCreateDatasets, true},
		{"ingest reads no datasets", ingest, PermRead, false},
		{"ingest runs no queries", ingest, PermQueries, false},
		{"ingest may call /1/auth", ingest, PermAnyKey, true},
		{"configuration key queries", queriesOnly, PermQueries, true},
		{"configuration key reads datasets", queriesOnly, PermRead, true},
		{"configuration key without markers", queriesOnly, PermMarkers, false},
		{"configuration key without events cannot send", queriesOnly, PermEvents, false},
		{"management key has no v1 powers", mgmt, PermQueries, false},
		{"management key cannot call /1/auth", mgmt, PermAnyKey, false},
	} {
		if got := c.p.Can(c.perm); got != c.want {
			t.Errorf("%s: Can(%s) = %v", c.name, c.perm, got)
		}
		if err := c.p.Check(c.perm); (err == nil) != c.want || (err != nil && !errors.Is(err, ErrForbidden)) {
			t.Errorf("%s: Check(%s) = %v", c.name, c.perm, err)
		}
	}
	if mgmt.Env != "" || mgmt.Kind != KindManagement {
		t.Errorf("management principal %+v: want the team's, no environment", mgmt)
	}
	for _, bad := range []KeySpec{
		{Env: "prod", Kind: "admin"},
		{Env: "prod", Kind: KindIngest, Access: []Permission{PermQueries}},
		{Env: "prod", Kind: KindManagement},
		{Env: "", Kind: KindIngest},
	} {
		if _, _, err := r.CreateKey(bad); err == nil {
			t.Errorf("CreateKey(%+v) accepted", bad)
		}
	}
	if _, err := ParsePermissions("queries, columns"); err != nil {
		t.Error(err)
	}
	if _, err := ParsePermissions("queries,admin"); err == nil || !strings.Contains(err.Error(), "admin") {
		t.Errorf("ParsePermissions accepted an unknown permission: %v", err)
	}
}

func TestAuthenticateErrors(t *testing.T) {
	r, _ := Open(t.TempDir(), nil)
	keys, _ := r.Bootstrap("")
	key := keys[0].Secret
	tests := []struct {
		key  string
		want error
		msg  string
	}{
		{"", ErrMissingKey, "missing 'x-honeycomb-team' header"},
		{"   ", ErrMissingKey, "missing 'x-honeycomb-team' header"},
		{"nope", ErrUnknownKey, "unknown API key - check your credentials, region, and API URL"},
		{key[:63], ErrUnknownKey, "unknown API key - check your credentials, region, and API URL"},
	}
	for _, tt := range tests {
		_, err := r.Authenticate(context.Background(), tt.key)
		if !errors.Is(err, tt.want) || err.Error() != tt.msg {
			t.Errorf("Authenticate(%q) = %v, want %q", tt.key, err, tt.msg)
		}
	}
}

func TestKeysAcrossProcessesAndRevocation(t *testing.T) {
	dir := t.TempDir()
	server, _ := Open(dir, nil)
	server.Bootstrap("")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go server.Watch(ctx)

	// Another process (the keys command) opens the same directory.
	cli, _ := Open(dir, nil)
	rec, secret, err := cli.CreateKey(KeySpec{Env: "Production", Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Env != "production" {
		t.Fatalf("env slug %q", rec.Env)
	}
	waitFor(t, func() bool { _, err := server.Authenticate(ctx, secret); return err == nil })
	p, _ := server.Authenticate(ctx, secret)
	if p.Env != "production" || p.EnvName != "Production" {
		t.Fatalf("principal %+v", p)
	}

	if err := cli.Revoke(rec.ID); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitFor(t, func() bool { _, err := server.Authenticate(ctx, secret); return errors.Is(err, ErrDisabledKey) })
	if _, err := server.Authenticate(ctx, secret); err.Error() != "attempted to use disabled API key" {
		t.Fatalf("revoked key error %q", err)
	}
	t.Logf("revocation seen after %v", time.Since(start))
	if err := cli.Revoke("hcaik_doesnotexist"); !errors.Is(err, ErrNoSuchKey) {
		t.Fatalf("Revoke unknown = %v", err)
	}
}

func TestAWSKeys(t *testing.T) {
	r, _ := Open(t.TempDir(), nil)
	rec, err := r.CreateAWSKey("test")
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.AccessKeyID) != 20 || !strings.HasPrefix(rec.AccessKeyID, "AKIA") || len(rec.SecretAccessKey) != 40 {
		t.Fatalf("key pair shape %+v", rec)
	}
	secret, env, ok := r.LookupAWS(rec.AccessKeyID)
	if !ok || secret != rec.SecretAccessKey || env != "test" {
		t.Fatalf("LookupAWS = %q %q %v", secret, env, ok)
	}
	r.Revoke(rec.AccessKeyID)
	if _, _, ok := r.LookupAWS(rec.AccessKeyID); ok {
		t.Fatal("revoked AWS key still found")
	}
}

func TestInvalidEnvName(t *testing.T) {
	r, _ := Open(t.TempDir(), nil)
	for _, name := range []string{"", " lead", "a/b", strings.Repeat("x", 256)} {
		if _, _, err := r.CreateKey(KeySpec{Env: name}); err == nil {
			t.Errorf("CreateKey(%q) accepted", name)
		}
	}
}

// TestCorruptFileIsAnError: an older tracecomb's auth.json that does not
// parse stops the import with a clear error.
func TestCorruptFileIsAnError(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, FileName), []byte("{not json"), 0o600)
	if _, err := Open(dir, nil); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("Open corrupt = %v", err)
	}
}

func TestEnvSlug(t *testing.T) {
	for in, want := range map[string]string{"test": "test", "My Env!": "my-env", "Prod  2": "prod-2", "a.b_c": "a-b-c"} {
		if got := EnvSlug(in); got != want {
			t.Errorf("EnvSlug(%q) = %q, want %q", in, got, want)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBootstrapKeyNames: the generated first key and a --bootstrap-key one
// carry names that tell them apart in Settings and `keys list`.
func TestBootstrapKeyNames(t *testing.T) {
	r, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Bootstrap(""); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Bootstrap("tracecomb-lesson-key"); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, k := range r.Keys() {
		names = append(names, k.Name)
	}
	if want := []string{FirstKeyName, FirstConfigKeyName, BootstrapKeyName}; !slices.Equal(names, want) {
		t.Fatalf("bootstrap key names %q, want %q", names, want)
	}
}

// TestSaltedHashes: every key is stored with a salt of its own, so equal
// guesses hash differently per key; a registry written before salts keeps
// its keys working.
func TestSaltedHashes(t *testing.T) {
	dir := t.TempDir()
	r, _ := Open(dir, nil)
	keys, err := r.Bootstrap("")
	if err != nil {
		t.Fatal(err)
	}
	recs := r.Keys()
	if recs[0].Salt == "" || recs[1].Salt == "" || recs[0].Salt == recs[1].Salt {
		t.Fatalf("salts %q, %q: want one of its own per key", recs[0].Salt, recs[1].Salt)
	}
	for i, k := range keys {
		if recs[i].Hash == hashKey(k.Secret) {
			t.Errorf("key %d is stored as the plain SHA-256 of the key", i)
		}
	}

	// A registry file from before salts: the hash is SHA-256 of the key.
	old := t.TempDir()
	file := fmt.Sprintf(`{"version":1,"team":"tracecomb","environments":[{"slug":"test","name":"test"}],
		"keys":[{"id":"hcaik_old","env":"test","name":"old","sha256":%q,"created_at":"2026-01-01T00:00:00Z"}]}`, hashKey("an-old-key-from-before"))
	if err := os.WriteFile(filepath.Join(old, FileName), []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	r2, err := Open(old, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := r2.Authenticate(context.Background(), "an-old-key-from-before")
	if err != nil || p.KeyID != "hcaik_old" || !p.Legacy {
		t.Fatalf("old key: %+v, %v", p, err)
	}
	if _, err := r2.Authenticate(context.Background(), "an-old-key-from-beforE"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("a wrong key: %v", err)
	}
	// The file was imported into the state store once and set aside.
	if _, err := os.Stat(filepath.Join(old, FileName)); !os.IsNotExist(err) {
		t.Errorf("auth.json is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(old, FileName+".imported")); err != nil {
		t.Errorf("auth.json.imported: %v", err)
	}
	r2.Close()
	r3, err := Open(old, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r3.Close()
	if p, err := r3.Authenticate(context.Background(), "an-old-key-from-before"); err != nil || p.KeyID != "hcaik_old" {
		t.Fatalf("the imported key after reopening: %+v, %v", p, err)
	}
}
