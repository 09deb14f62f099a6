package auth

import (
	"errors"
	"fmt"
	"slices"

	"github.com/tracecomb/tracecomb/internal/state"
)

// Errors of the management operations (the team's /2 API).
var (
	ErrNoSuchEnv       = errors.New("no such environment")
	ErrEnvExists       = errors.New("an environment with this name exists")
	ErrDeleteProtected = errors.New("the environment is delete protected; turn settings.delete_protected off first")
)

// Protected reports whether e may not be deleted (the default).
func (e Environment) Protected() bool {
	return e.DeleteProtected == nil || *e.DeleteProtected
}

// ValidEnvName returns an error saying what is wrong with an environment
// name, or nil.
func ValidEnvName(name string) error { return validEnvName(name) }

// EnvSpec describes an environment to create.
type EnvSpec struct {
	Name        string
	Description string
	Color       string
}

// CreateEnvironment creates an environment, delete protected, whose slug is
// derived from its name; ErrEnvExists when an environment has that slug.
func (r *Registry) CreateEnvironment(spec EnvSpec) (Environment, error) {
	if err := validEnvName(spec.Name); err != nil {
		return Environment{}, err
	}
	var e Environment
	err := r.update(func(d *fileData) error {
		slug := EnvSlug(spec.Name)
		for _, old := range d.Environments {
			if old.Slug == slug {
				return fmt.Errorf("%w: %q", ErrEnvExists, old.Name)
			}
		}
		e = Environment{Slug: slug, Name: spec.Name, Description: spec.Description, Color: spec.Color, CreatedAt: r.now().UTC()}
		d.Environments = append(d.Environments, e)
		return nil
	})
	return e, err
}

// UpdateEnvironment applies fn to the environment with this slug and stores
// the result; fn cannot change the slug or the creation time.
func (r *Registry) UpdateEnvironment(slug string, fn func(*Environment) error) (Environment, error) {
	var e Environment
	err := r.update(func(d *fileData) error {
		for i := range d.Environments {
			if d.Environments[i].Slug == slug {
				e = d.Environments[i]
				if err := fn(&e); err != nil {
					return err
				}
				e.Slug, e.CreatedAt = d.Environments[i].Slug, d.Environments[i].CreatedAt
				d.Environments[i] = e
				return nil
			}
		}
		return fmt.Errorf("%w: %q", ErrNoSuchEnv, slug)
	})
	return e, err
}

// DeleteEnvironment deletes an environment that is not delete protected,
// with its keys (Honeycomb-style and AWS-style): they stop working at once.
func (r *Registry) DeleteEnvironment(slug string) error {
	return r.update(func(d *fileData) error {
		i := slices.IndexFunc(d.Environments, func(e Environment) bool { return e.Slug == slug })
		switch {
		case i < 0:
			return fmt.Errorf("%w: %q", ErrNoSuchEnv, slug)
		case d.Environments[i].Protected():
			return ErrDeleteProtected
		}
		d.Environments = slices.Delete(d.Environments, i, i+1)
		d.Keys = slices.DeleteFunc(d.Keys, func(k KeyRecord) bool { return k.Kind != KindManagement && k.Env == slug })
		d.AWSKeys = slices.DeleteFunc(d.AWSKeys, func(k AWSKeyRecord) bool { return k.Env == slug })
		return nil
	})
}

// KeyUpdate is a change to a key; nil fields are left as they are.
type KeyUpdate struct {
	Name *string
	// Disabled disables the key (as Revoke does) or enables it again.
	Disabled *bool
	// Access replaces a configuration key's permissions.
	Access *[]Permission
}

// UpdateKey changes a key's name, whether it is disabled and (for a
// configuration key) its permissions.
func (r *Registry) UpdateKey(id string, u KeyUpdate) (KeyRecord, error) {
	var rec KeyRecord
	err := r.update(func(d *fileData) error {
		i := slices.IndexFunc(d.Keys, func(k KeyRecord) bool { return k.ID == id })
		if i < 0 {
			return fmt.Errorf("%w: %q", ErrNoSuchKey, id)
		}
		k := &d.Keys[i]
		if u.Access != nil {
			if k.Kind != KindConfiguration {
				return errors.New("only configuration keys have permissions to choose")
			}
			k.Access = slices.Clone(*u.Access)
		}
		if u.Name != nil {
			k.Name = *u.Name
		}
		if u.Disabled != nil {
			switch now := r.now().UTC(); {
			case *u.Disabled && k.RevokedAt == nil:
				k.RevokedAt = &now
			case !*u.Disabled:
				k.RevokedAt = nil
			}
		}
		now := r.now().UTC()
		k.UpdatedAt = &now
		rec = *k
		return nil
	})
	return rec, err
}

// DeleteKey deletes a Honeycomb-style key: it stops working at once and is
// no longer listed.
func (r *Registry) DeleteKey(id string) error {
	return r.update(func(d *fileData) error {
		n := len(d.Keys)
		d.Keys = slices.DeleteFunc(d.Keys, func(k KeyRecord) bool { return k.ID == id })
		if len(d.Keys) == n {
			return fmt.Errorf("%w: %q", ErrNoSuchKey, id)
		}
		return nil
	})
}

// deleteRemoved deletes the records of the environments and keys that
// before has and after does not.
func deleteRemoved(tx state.Tx, before, after fileData) error {
	del := func(kind state.Kind, scope, key string) error {
		if err := tx.Delete(kind, scope, key, state.AnyVersion); err != nil && !errors.Is(err, state.ErrNotFound) {
			return err
		}
		return nil
	}
	for _, k := range before.Keys {
		if !slices.ContainsFunc(after.Keys, func(a KeyRecord) bool { return a.ID == k.ID }) {
			if err := del(kindKey, k.Env, k.ID); err != nil {
				return err
			}
		}
	}
	for _, k := range before.AWSKeys {
		if !slices.ContainsFunc(after.AWSKeys, func(a AWSKeyRecord) bool { return a.AccessKeyID == k.AccessKeyID }) {
			if err := del(kindAWSKey, k.Env, k.AccessKeyID); err != nil {
				return err
			}
		}
	}
	for _, e := range before.Environments {
		if !slices.ContainsFunc(after.Environments, func(a Environment) bool { return a.Slug == e.Slug }) {
			if err := del(kindEnv, "", e.Slug); err != nil {
				return err
			}
		}
	}
	return nil
}
