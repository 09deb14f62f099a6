// Package auth owns tenancy: the team's environments, their Honeycomb-style
// API keys (stored hashed) and AWS-style access key pairs, and the lookup
// from a presented key to the environment it belongs to.
package auth

import (
	"context"
	"errors"
)

// Errors carry Honeycomb's own messages, so doors can send err.Error() as is.
var (
	ErrMissingKey  = errors.New("missing 'x-honeycomb-team' header")
	ErrUnknownKey  = errors.New("unknown API key - check your credentials, region, and API URL")
	ErrDisabledKey = errors.New("attempted to use disabled API key")
)

// HeaderTeam is the header (HTTP) or metadata key (gRPC) carrying the key.
const HeaderTeam = "x-honeycomb-team"

// KeyKind is a kind of key, as Honeycomb has them.
type KeyKind string

// Key kinds. A key stored before kinds existed has none and keeps the
// powers it had: every permission (see Principal.Legacy).
const (
	KindIngest        KeyKind = "ingest"        // sends data, nothing else
	KindConfiguration KeyKind = "configuration" // what its Access allows
	KindManagement    KeyKind = "management"    // the team's /2 API
)

// Permission is one of Honeycomb's key permissions, named as /1/auth's
// api_key_access names them.
type Permission string

// Permissions.
const (
	PermEvents         Permission = "events" // send events (any ingest door)
	PermCreateDatasets Permission = "createDatasets"
	PermMarkers        Permission = "markers"
	PermTriggers       Permission = "triggers"
	PermBoards         Permission = "boards"
	PermQueries        Permission = "queries"
	PermColumns        Permission = "columns"
	PermSLOs           Permission = "slos"
	PermRecipients     Permission = "recipients"
	PermPrivateBoards  Permission = "privateBoards"

	// PermAnyKey is what /1/auth asks: any key, ingest keys too.
	PermAnyKey Permission = "*"
	// PermRead is what reading an environment's datasets asks: any
	// configuration key, whatever its permissions.
	PermRead Permission = "read"
)

// Permissions lists every permission in api_key_access order.
func Permissions() []Permission {
	return []Permission{PermEvents, PermMarkers, PermTriggers, PermBoards, PermQueries, PermColumns,
		PermCreateDatasets, PermSLOs, PermRecipients, PermPrivateBoards}
}

// Principal is who a key speaks for.
type Principal struct {
	KeyID   string // public id of the key (never the secret)
	KeyName string
	Env     string // environment slug: the tenant every read and write is scoped to
	EnvName string
	Team    string
	Kind    KeyKind
	// Access holds the permissions of a configuration key.
	Access map[Permission]bool
	// NoCreateDatasets is set for an ingest key that may send to existing
	// datasets only.
	NoCreateDatasets bool
	// Legacy is set for a key stored before kinds existed (and for a
	// --bootstrap-key): it may do everything, as every key could then.
	Legacy bool
}

// Can reports whether p may do perm: an ingest key may send events and
// (unless NoCreateDatasets) create datasets, a configuration key what its Access says, a legacy key
// anything; a management key nothing of the v1 API.
func (p Principal) Can(perm Permission) bool {
	switch {
	case p.Legacy:
		return true
	case perm == PermAnyKey:
		return p.Kind == KindIngest || p.Kind == KindConfiguration
	case p.Kind == KindIngest:
		return perm == PermEvents || (perm == PermCreateDatasets && !p.NoCreateDatasets)
	case p.Kind == KindConfiguration:
		return perm == PermRead || p.Access[perm]
	}
	return false
}

// ErrForbidden is returned (wrapped in a *ForbiddenError) by Check.
var ErrForbidden = errors.New("forbidden")

// ForbiddenError says which permission a key lacks.
type ForbiddenError struct {
	Kind KeyKind
	Perm Permission
}

func (e *ForbiddenError) Error() string {
	switch {
	case e.Kind == KindIngest:
		return "this is an ingest key: it can only send data; this call needs a configuration key" + e.needs()
	case e.Kind == KindManagement:
		return "this is a management key: it works on the team's /2 API only"
	}
	return "this API key does not have the permission this call needs" + e.needs()
}

func (e *ForbiddenError) needs() string {
	if e.Perm == PermRead || e.Perm == PermAnyKey {
		return ""
	}
	return " ('" + string(e.Perm) + "')"
}

func (e *ForbiddenError) Unwrap() error { return ErrForbidden }

// Check returns nil when p may do perm and a *ForbiddenError otherwise
// (HTTP 403 on Honeycomb's API, 401 on an ingest door, as Honeycomb
// answers an unusable key there).
func (p Principal) Check(perm Permission) error {
	if p.Can(perm) {
		return nil
	}
	return &ForbiddenError{Kind: p.Kind, Perm: perm}
}

// Authenticator resolves a presented key. It returns ErrMissingKey for an
// empty key, ErrUnknownKey for a key it does not know and ErrDisabledKey for
// a revoked one.
type Authenticator interface {
	Authenticate(ctx context.Context, key string) (Principal, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(ctx context.Context, key string) (Principal, error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, key string) (Principal, error) {
	return f(ctx, key)
}
