package auth

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/state"
)

// holdStore lets a test stop one ListAll of the keys after it has read
// them and before it returns, and tells when an Update committed.
type holdStore struct {
	state.Store
	mu        sync.Mutex
	hold      chan struct{} // the next keys ListAll waits on it once read
	held      chan struct{} // closed when that ListAll has read
	committed chan struct{} // gets a value after each Update
}

func (s *holdStore) ListAll(ctx context.Context, kind state.Kind) ([]state.Record, error) {
	recs, err := s.Store.ListAll(ctx, kind)
	if kind != kindKey {
		return recs, err
	}
	s.mu.Lock()
	hold, held := s.hold, s.held
	s.hold = nil
	s.mu.Unlock()
	if hold != nil {
		close(held)
		<-hold
	}
	return recs, err
}

func (s *holdStore) Update(ctx context.Context, fn func(tx state.Tx) error) error {
	err := s.Store.Update(ctx, fn)
	select {
	case s.committed <- struct{}{}:
	default:
	}
	return err
}

// TestReloadsInstallInOrder: a reload (as Watch runs one for any change)
// that read the keys before a key was created must not install them after
// the reload of the key's creation did: the new key would be unknown
// until the next change.
func TestReloadsInstallInOrder(t *testing.T) {
	ctx := context.Background()
	st := &holdStore{Store: state.NewMemory(), committed: make(chan struct{}, 1)}
	r, err := New(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Bootstrap(""); err != nil {
		t.Fatal(err)
	}
	<-st.committed // Bootstrap's

	// A reload reads the keys as they are now and waits.
	hold, held := make(chan struct{}), make(chan struct{})
	st.mu.Lock()
	st.hold, st.held = hold, held
	st.mu.Unlock()
	stale := make(chan error, 1)
	go func() { stale <- r.reload(ctx) }()
	<-held

	// A key is created meanwhile; once it is committed and CreateKey
	// returned (or could not return yet: its reload waits for the older
	// one), the older reload goes on.
	created := make(chan string, 1)
	go func() {
		_, key, err := r.CreateKey(KeySpec{Kind: KindIngest, Env: "test"})
		if err != nil {
			t.Error(err)
		}
		created <- key
	}()
	<-st.committed
	var key string
	select {
	case key = <-created:
	case <-time.After(200 * time.Millisecond):
	}
	close(hold)
	if err := <-stale; err != nil {
		t.Fatal(err)
	}
	if key == "" {
		key = <-created
	}
	if _, err := r.Authenticate(ctx, key); err != nil {
		t.Fatalf("the new key after both reloads: %v", err)
	}
}
