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

// Principal is who a key speaks for.
type Principal struct {
	KeyID   string // public id of the key (never the secret)
	Env     string // environment slug: the tenant every read and write is scoped to
	EnvName string
	Team    string
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
