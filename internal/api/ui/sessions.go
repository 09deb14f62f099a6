package ui

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"
)

// sessionStore keeps the UI's sessions on the server: a browser holds only
// a random token; the session names the key it logged in with (by id, never
// the key itself), so logging out ends it and revoking the key refuses it
// at once. At most max sessions are kept (the oldest go first), so memory
// is bounded.
type sessionStore struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu sync.Mutex
	m  map[string]session
}

type session struct {
	keyID   string
	created time.Time
}

func newSessionStore(ttl time.Duration, max int) *sessionStore {
	return &sessionStore{ttl: ttl, max: max, now: time.Now, m: map[string]session{}}
}

// create starts a session for keyID and returns its token.
func (s *sessionStore) create(keyID string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error()) // never happens on Linux
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if len(s.m) >= s.max {
		var oldest string
		var at time.Time
		for t, ss := range s.m {
			if now.Sub(ss.created) >= s.ttl {
				delete(s.m, t)
				continue
			}
			if oldest == "" || ss.created.Before(at) {
				oldest, at = t, ss.created
			}
		}
		if len(s.m) >= s.max {
			delete(s.m, oldest)
		}
	}
	s.m[token] = session{keyID: keyID, created: now}
	return token
}

// get returns the key id of a live session.
func (s *sessionStore) get(token string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.m[token]
	if !ok {
		return "", false
	}
	if s.now().Sub(ss.created) >= s.ttl {
		delete(s.m, token)
		return "", false
	}
	return ss.keyID, true
}

// end forgets a session.
func (s *sessionStore) end(token string) {
	s.mu.Lock()
	delete(s.m, token)
	s.mu.Unlock()
}
