package auth

import (
	"context"
	"errors"
	"testing"
)

// TestManageEnvironmentsAndKeys: environments are created delete
// protected, updated, refused deletion while protected and then deleted
// with their keys (also from the store: a reopened registry has none of
// them); keys are renamed, disabled, enabled and deleted.
func TestManageEnvironmentsAndKeys(t *testing.T) {
	dir := t.TempDir()
	r, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e, err := r.CreateEnvironment(EnvSpec{Name: "Prod EU", Description: "d", Color: "blue"})
	if err != nil || e.Slug != "prod-eu" || !e.Protected() || e.Description != "d" {
		t.Fatalf("CreateEnvironment = %+v, %v", e, err)
	}
	if _, err := r.CreateEnvironment(EnvSpec{Name: "prod eu"}); !errors.Is(err, ErrEnvExists) {
		t.Fatalf("same slug again: %v", err)
	}
	rec, secret, err := r.CreateKey(KeySpec{Env: "prod-eu", Kind: KindIngest, Name: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := r.Environment("prod-eu"); got.Name != "Prod EU" || len(r.Environments()) != 1 {
		t.Fatalf("a key made with the slug changed the environment: %+v %v", got, r.Environments())
	}

	name, off, on := "renamed", true, false
	if k, err := r.UpdateKey(rec.ID, KeyUpdate{Name: &name, Disabled: &off}); err != nil || k.Name != name || k.RevokedAt == nil || k.UpdatedAt == nil {
		t.Fatalf("UpdateKey = %+v, %v", k, err)
	}
	if _, err := r.Authenticate(ctx, secret); !errors.Is(err, ErrDisabledKey) {
		t.Fatalf("disabled key: %v", err)
	}
	if _, err := r.UpdateKey(rec.ID, KeyUpdate{Disabled: &on}); err != nil {
		t.Fatal(err)
	}
	if p, err := r.Authenticate(ctx, secret); err != nil || p.KeyName != name {
		t.Fatalf("enabled again: %+v %v", p, err)
	}
	perms := []Permission{PermMarkers}
	if _, err := r.UpdateKey(rec.ID, KeyUpdate{Access: &perms}); err == nil {
		t.Fatal("an ingest key took permissions")
	}

	if err := r.DeleteEnvironment("prod-eu"); !errors.Is(err, ErrDeleteProtected) {
		t.Fatalf("protected delete: %v", err)
	}
	if _, err := r.UpdateEnvironment("prod-eu", func(e *Environment) error {
		f := false
		e.DeleteProtected, e.Color = &f, "red"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.Environment("prod-eu"); got.Protected() || got.Color != "red" || got.Description != "d" {
		t.Fatalf("updated environment %+v", got)
	}
	aws, err := r.CreateAWSKey("prod-eu")
	if err != nil {
		t.Fatal(err)
	}
	other, otherSecret, _ := r.CreateKey(KeySpec{Env: "test", Kind: KindIngest})
	if err := r.DeleteEnvironment("prod-eu"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Authenticate(ctx, secret); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("key of a deleted environment: %v", err)
	}
	if _, _, ok := r.LookupAWS(aws.AccessKeyID); ok {
		t.Fatal("AWS key of a deleted environment still works")
	}
	if err := r.DeleteEnvironment("prod-eu"); !errors.Is(err, ErrNoSuchEnv) {
		t.Fatalf("deleted twice: %v", err)
	}
	if err := r.DeleteKey(other.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteKey(other.ID); !errors.Is(err, ErrNoSuchKey) {
		t.Fatalf("deleted twice: %v", err)
	}
	r.Close()

	r, err = Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, ok := r.Environment("prod-eu"); ok || len(r.Keys()) != 0 || len(r.AWSKeys()) != 0 {
		t.Fatalf("reopened: envs %v keys %v aws %v", r.Environments(), r.Keys(), r.AWSKeys())
	}
	if _, err := r.Authenticate(ctx, otherSecret); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("deleted key after reopening: %v", err)
	}
}

// TestIngestKeyWithoutCreateDatasets: an ingest key made with
// NoCreateDatasets sends but may not create datasets; only ingest keys take
// it; a default ingest key may create them.
func TestIngestKeyWithoutCreateDatasets(t *testing.T) {
	r, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	_, limited, err := r.CreateKey(KeySpec{Env: "test", Kind: KindIngest, NoCreateDatasets: true})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := r.Authenticate(ctx, limited); err != nil || !p.Can(PermEvents) || p.Can(PermCreateDatasets) {
		t.Fatalf("limited ingest key: %+v %v", p, err)
	}
	_, full, _ := r.CreateKey(KeySpec{Env: "test", Kind: KindIngest})
	if p, err := r.Authenticate(ctx, full); err != nil || !p.Can(PermCreateDatasets) {
		t.Fatalf("default ingest key: %+v %v", p, err)
	}
	if _, _, err := r.CreateKey(KeySpec{Env: "test", Kind: KindConfiguration, NoCreateDatasets: true}); err == nil {
		t.Fatal("a configuration key took NoCreateDatasets")
	}
}
