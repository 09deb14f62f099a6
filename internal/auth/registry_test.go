package auth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBootstrapCreatesTestEnvOnce(t *testing.T) {
	dir := t.TempDir()
	r, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	key, err := r.Bootstrap("")
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != 64 || !strings.HasPrefix(key, "hcaik_") {
		t.Fatalf("bootstrap key %q: want Honeycomb's 64-character ingest key shape", key)
	}
	p, err := r.Authenticate(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if p.Env != DefaultEnv || p.KeyID != key[:32] {
		t.Fatalf("principal = %+v", p)
	}
	again, err := r.Bootstrap("")
	if err != nil || again != "" {
		t.Fatalf("second bootstrap created %q, %v; want nothing", again, err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), key[32:]) {
		t.Fatal("the key's secret is stored in the clear")
	}
	fi, _ := os.Stat(filepath.Join(dir, FileName))
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("registry mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestBootstrapWithChosenKey(t *testing.T) {
	dir := t.TempDir()
	r, _ := Open(dir, nil)
	if k, err := r.Bootstrap("compose-key"); err != nil || k != "compose-key" {
		t.Fatalf("Bootstrap = %q, %v", k, err)
	}
	// A later start with another fixed key adds it; with none adds nothing.
	if k, _ := r.Bootstrap("second-key"); k != "second-key" {
		t.Fatalf("second fixed key not added: %q", k)
	}
	if k, _ := r.Bootstrap("compose-key"); k != "" {
		t.Fatalf("existing fixed key added twice")
	}
	if n := len(r.Keys()); n != 2 {
		t.Fatalf("%d keys, want 2", n)
	}
	for _, k := range []string{"compose-key", " compose-key ", "second-key"} {
		if _, err := r.Authenticate(context.Background(), k); err != nil {
			t.Errorf("Authenticate(%q) = %v", k, err)
		}
	}
}

func TestAuthenticateErrors(t *testing.T) {
	r, _ := Open(t.TempDir(), nil)
	key, _ := r.Bootstrap("")
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
	rec, secret, err := cli.CreateKey("Production", "ci")
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
		if _, _, err := r.CreateKey(name, ""); err == nil {
			t.Errorf("CreateKey(%q) accepted", name)
		}
	}
}

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
	if len(names) != 2 || !slices.Contains(names, FirstKeyName) || !slices.Contains(names, BootstrapKeyName) {
		t.Fatalf("bootstrap key names %q, want %q and %q", names, FirstKeyName, BootstrapKeyName)
	}
}
