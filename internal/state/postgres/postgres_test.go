package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tracecomb/tracecomb/internal/state"
	"github.com/tracecomb/tracecomb/internal/state/statetest"
)

// open opens a Store on url, closed when the test ends.
func open(t testing.TB, cfg Config) *Store {
	t.Helper()
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	statetest.RunAll(t, func(t *testing.T) func() state.Store {
		url := newDatabase(t)
		return func() state.Store { return open(t, Config{URL: url}) }
	})
}

// recv waits up to 10s (a bound for a loaded machine; the contract is a
// second) for a change matching want, ignoring others.
func recv(t *testing.T, ch <-chan state.Change, want state.Change) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case c, ok := <-ch:
			if !ok {
				t.Fatalf("watch closed waiting for %+v", want)
			}
			if c == want {
				return
			}
		case <-deadline:
			t.Fatalf("no %+v", want)
		}
	}
}

// TestTwoNodes: two handles on one database, as two nodes have: a write
// through one reaches the other's watcher, and a lease held by one is
// refused to the other until it expires.
func TestTwoNodes(t *testing.T) {
	url := newDatabase(t)
	a, b := open(t, Config{URL: url}), open(t, Config{URL: url})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := b.Watch(ctx)
	if _, err := a.Put(ctx, state.Record{Kind: "keys", Scope: "prod", Key: "k1", Value: []byte(`{"revoked":true}`)}, state.AnyVersion); err != nil {
		t.Fatal(err)
	}
	recv(t, ch, state.Change{Kind: "keys", Scope: "prod", Key: "k1"})
	r, err := b.Get(ctx, "keys", "prod", "k1")
	if err != nil || string(r.Value) != `{"revoked":true}` || r.Version != 1 {
		t.Fatalf("b reads %+v, %v", r, err)
	}

	if ok, err := a.Acquire(ctx, "trigger/x", "node-a", 300*time.Millisecond); err != nil || !ok {
		t.Fatalf("a: %v %v", ok, err)
	}
	if ok, err := b.Acquire(ctx, "trigger/x", "node-b", time.Hour); err != nil || ok {
		t.Fatalf("b took a's running lease: %v %v", ok, err)
	}
	// Poll until the server's clock has passed a's lease; b then gets it
	// and a is refused.
	for {
		ok, err := b.Acquire(ctx, "trigger/x", "node-b", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ok, err := a.Acquire(ctx, "trigger/x", "node-a", time.Hour); err != nil || ok {
		t.Fatalf("a took b's lease back: %v %v", ok, err)
	}
}

// TestConcurrentOpen: nodes starting at once on an empty database all
// open it (the schema is created once, under the advisory lock).
func TestConcurrentOpen(t *testing.T) {
	url := newDatabase(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(context.Background(), Config{URL: url})
			if err != nil {
				errs <- err
				return
			}
			errs <- s.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var v int
	if err := conn.QueryRow(context.Background(), `SELECT version FROM tracecomb_state_schema`).Scan(&v); err != nil || v != SchemaVersion || len(migrations) != SchemaVersion {
		t.Fatalf("schema version %d (%v), want %d = len(migrations) %d", v, err, SchemaVersion, len(migrations))
	}
}

// TestNewerSchemaRefused: a database written by a newer tracecomb is not
// opened.
func TestNewerSchemaRefused(t *testing.T) {
	url := newDatabase(t)
	open(t, Config{URL: url})
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `UPDATE tracecomb_state_schema SET version = $1`, SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	_, err = Open(context.Background(), Config{URL: url})
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open of a newer schema: %v", err)
	}
}

// TestServerDown: a server that cannot be reached gives ErrUnavailable,
// told apart from the contract's errors.
func TestServerDown(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(context.Background(), Config{URL: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/x?sslmode=disable&connect_timeout=5", port)})
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, state.ErrConflict) || errors.Is(err, state.ErrNotFound) {
		t.Fatalf("Open of a server that is down: %v", err)
	}
	if _, err := Open(context.Background(), Config{URL: "mysql://nope"}); err == nil || errors.Is(err, ErrUnavailable) {
		t.Fatalf("Open of a bad URL: %v", err)
	}
}

// proxy forwards TCP connections to the test server until cut: then it
// closes every connection it carries and refuses new ones until resumed.
type proxy struct {
	l      net.Listener
	mu     sync.Mutex
	thawed *sync.Cond // signalled when frozen turns false
	down   bool
	frozen bool // carry nothing (but keep the connections) until thawed
	live   map[net.Conn]struct{}
}

func newProxy(t *testing.T) *proxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l, live: map[net.Conn]struct{}{}}
	p.thawed = sync.NewCond(&p.mu)
	t.Cleanup(func() { l.Close(); p.cut(); p.thaw() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *proxy) serve(c net.Conn) {
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		c.Close()
		return
	}
	up, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", server.Port()))
	if err != nil {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.live[c], p.live[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	go p.pipe(up, c)
	p.pipe(c, up)
}

// pipe carries src to dst, holding what it read while frozen.
func (p *proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.frozen {
				p.thawed.Wait()
			}
			p.mu.Unlock()
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *proxy) freeze() {
	p.mu.Lock()
	p.frozen = true
	p.mu.Unlock()
}

func (p *proxy) thaw() {
	p.mu.Lock()
	p.frozen = false
	p.thawed.Broadcast()
	p.mu.Unlock()
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.live {
		c.Close()
		delete(p.live, c)
	}
}

func (p *proxy) resume() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

func (p *proxy) url(db string) string {
	return strings.Replace(db, fmt.Sprintf(":%d/", server.Port()), fmt.Sprintf(":%d/", p.l.Addr().(*net.TCPAddr).Port), 1)
}

// TestConnectionLost: while the server is out of reach calls fail with
// ErrUnavailable; once it is back they work again, and a watcher (whose
// listening connection broke) is told to reload everything, then hears
// of changes again.
func TestConnectionLost(t *testing.T) {
	url := newDatabase(t)
	p := newProxy(t)
	s := open(t, Config{URL: p.url(url) + "&connect_timeout=5", ReconnectDelay: 20 * time.Millisecond})
	other := open(t, Config{URL: url})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := s.Watch(ctx)
	if _, err := s.Put(ctx, state.Record{Kind: "k", Key: "a", Value: []byte(`1`)}, state.AnyVersion); err != nil {
		t.Fatal(err)
	}
	recv(t, ch, state.Change{Kind: "k", Key: "a"})

	p.cut()
	for _, op := range []struct {
		name string
		err  func() error
	}{
		{"Get", func() error { _, err := s.Get(ctx, "k", "", "a"); return err }},
		{"Put", func() error {
			_, err := s.Put(ctx, state.Record{Kind: "k", Key: "a", Value: []byte(`2`)}, state.AnyVersion)
			return err
		}},
		{"Update", func() error {
			return s.Update(ctx, func(tx state.Tx) error { _, err := tx.Get("k", "", "a"); return err })
		}},
		{"Acquire", func() error { _, err := s.Acquire(ctx, "l", "h", time.Second); return err }},
	} {
		err := op.err()
		if !errors.Is(err, ErrUnavailable) || errors.Is(err, state.ErrConflict) || errors.Is(err, state.ErrNotFound) {
			t.Errorf("%s with the server out of reach: %v", op.name, err)
		}
	}
	// Written while s could not listen: s hears of it only as a reload.
	if _, err := other.Put(ctx, state.Record{Kind: "k", Key: "b", Value: []byte(`1`)}, state.AnyVersion); err != nil {
		t.Fatal(err)
	}
	p.resume()
	recv(t, ch, state.Change{})
	if _, err := other.Put(ctx, state.Record{Kind: "k", Key: "c", Value: []byte(`1`)}, state.AnyVersion); err != nil {
		t.Fatal(err)
	}
	recv(t, ch, state.Change{Kind: "k", Key: "c"})
	if r, err := s.Get(ctx, "k", "", "b"); err != nil || string(r.Value) != "1" {
		t.Fatalf("Get after the server came back: %+v %v", r, err)
	}
}

// TestSlowReader: a watcher that does not read misses the changes of a
// burst past its buffer, and then reads a "reload everything" after the
// ones it has.
func TestSlowReader(t *testing.T) {
	url := newDatabase(t)
	s := open(t, Config{URL: url})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slow := s.Watch(ctx)
	const n = watchBuffer + 50
	err := s.Update(ctx, func(tx state.Tx) error {
		for i := range n {
			if _, err := tx.Put(state.Record{Kind: "k", Key: fmt.Sprint(i), Value: []byte(`1`)}, state.AnyVersion); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Only the last slot takes the reload, so a full channel means the
	// burst overflowed it.
	for deadline := time.Now().Add(10 * time.Second); len(slow) < cap(slow); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the unread watcher holds %d changes, want it full (%d)", len(slow), cap(slow))
		}
	}
	got := 0
	for {
		c := <-slow
		if c.Kind == "" {
			break
		}
		got++
	}
	if got != watchBuffer {
		t.Fatalf("read %d changes before the reload, want %d", got, watchBuffer)
	}
}

// TestContext: an ended context ends a call with its error.
func TestContext(t *testing.T) {
	s := open(t, Config{URL: newDatabase(t)})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Get(ctx, "k", "", "a"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get: %v", err)
	}
	if _, err := s.Put(ctx, state.Record{Kind: "k", Key: "a"}, state.AnyVersion); !errors.Is(err, context.Canceled) {
		t.Errorf("Put: %v", err)
	}
	if err := s.Update(ctx, func(state.Tx) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Update: %v", err)
	}
	// A statement that outlives its deadline is stopped.
	dctx, dcancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer dcancel()
	err := s.Update(dctx, func(stx state.Tx) error {
		_, err := stx.(*tx).tx.Exec(dctx, `SELECT pg_sleep(30)`)
		return err
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a statement past its deadline: %v", err)
	}
}

// TestClosed: a closed store answers ErrClosed and closes new watches.
func TestClosed(t *testing.T) {
	s, err := Open(context.Background(), Config{URL: newDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	w := s.Watch(context.Background())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, ok := <-w; ok {
		t.Fatal("a watch outlived Close")
	}
	if _, ok := <-s.Watch(context.Background()); ok {
		t.Fatal("Watch after Close is open")
	}
	if _, err := s.Get(context.Background(), "k", "", "a"); !errors.Is(err, state.ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
}

// TestValues: values come back byte for byte (not normalised as jsonb
// would), an empty one included; keys sort by bytes.
func TestValues(t *testing.T) {
	s := open(t, Config{URL: newDatabase(t)})
	ctx := context.Background()
	for _, v := range []string{`{"b": 1,  "a":2}`, ``, "\x00\xff"} {
		if _, err := s.Put(ctx, state.Record{Kind: "k", Key: "x", Value: []byte(v)}, state.AnyVersion); err != nil {
			t.Fatal(err)
		}
		r, err := s.Get(ctx, "k", "", "x")
		if err != nil || string(r.Value) != v {
			t.Fatalf("put %q, got %q (%v)", v, r.Value, err)
		}
	}
	for _, k := range []string{"b", "B", "a", "_", "é"} {
		if _, err := s.Put(ctx, state.Record{Kind: "o", Key: k}, state.AnyVersion); err != nil {
			t.Fatal(err)
		}
	}
	if ks, err := s.Keys(ctx, "o", ""); err != nil || strings.Join(ks, " ") != "B _ a b é" {
		t.Fatalf("Keys: %q %v", ks, err)
	}
	if _, err := s.Put(ctx, state.Record{Kind: "", Key: "x"}, state.AnyVersion); err == nil {
		t.Fatal("a record without a kind was written")
	}
}

// TestLongKeyNotification: a change whose notification would pass
// PostgreSQL's payload limit is told as "reload everything", and the
// write succeeds.
func TestLongKeyNotification(t *testing.T) {
	s := open(t, Config{URL: newDatabase(t)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := s.Watch(ctx)
	if _, err := s.Put(ctx, state.Record{Kind: "k", Key: strings.Repeat("x", 9000)}, state.AnyVersion); err != nil {
		t.Fatal(err)
	}
	recv(t, ch, state.Change{})
}

// TestDeadlockIsConflict: two transactions that lock two records in
// opposite orders: the server ends one, and its error is ErrConflict.
func TestDeadlockIsConflict(t *testing.T) {
	s := open(t, Config{URL: newDatabase(t)})
	ctx := context.Background()
	for _, k := range []string{"a", "b"} {
		if _, err := s.Put(ctx, state.Record{Kind: "k", Key: k}, state.AnyVersion); err != nil {
			t.Fatal(err)
		}
	}
	var both sync.WaitGroup
	both.Add(2)
	errs := make(chan error, 2)
	for _, order := range [][2]string{{"a", "b"}, {"b", "a"}} {
		go func() {
			errs <- s.Update(ctx, func(tx state.Tx) error {
				if _, err := tx.Get("k", "", order[0]); err != nil {
					return err
				}
				both.Done()
				both.Wait() // each holds its first lock
				_, err := tx.Get("k", "", order[1])
				return err
			})
		}()
	}
	var conflicts int
	for range 2 {
		if err := <-errs; errors.Is(err, state.ErrConflict) {
			conflicts++
		} else if err != nil {
			t.Errorf("unexpected error: %v", err)
		}
	}
	if conflicts != 1 {
		t.Fatalf("%d transactions failed with ErrConflict, want 1", conflicts)
	}
}

// TestPing: a listening connection silent past PingInterval is pinged
// and stays in use.
func TestPing(t *testing.T) {
	url := newDatabase(t)
	s := open(t, Config{URL: url, PingInterval: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := s.Watch(ctx)
	time.Sleep(200 * time.Millisecond) // several pings
	if _, err := s.Put(ctx, state.Record{Kind: "k", Key: "a"}, state.AnyVersion); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-ch:
		if c != (state.Change{Kind: "k", Key: "a"}) {
			t.Fatalf("got %+v: the listening connection was dialled again", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no change")
	}
}

// TestUnstorableNames: names PostgreSQL's text cannot hold (NUL, invalid
// UTF-8) are not found and cannot be written, without breaking the
// transaction they are used in.
func TestUnstorableNames(t *testing.T) {
	s := open(t, Config{URL: newDatabase(t)})
	ctx := context.Background()
	for _, bad := range []string{"a\x00b", "\xff"} {
		if _, err := s.Put(ctx, state.Record{Kind: "k", Key: bad}, state.AnyVersion); err == nil || errors.Is(err, ErrUnavailable) {
			t.Errorf("Put of key %q: %v", bad, err)
		}
		if _, err := s.Get(ctx, "k", bad, "a"); !errors.Is(err, state.ErrNotFound) {
			t.Errorf("Get in scope %q: %v", bad, err)
		}
		if err := s.Delete(ctx, state.Kind(bad), "", "a", state.AnyVersion); !errors.Is(err, state.ErrNotFound) {
			t.Errorf("Delete of kind %q: %v", bad, err)
		}
		if _, err := s.Acquire(ctx, bad, "h", time.Second); err == nil {
			t.Errorf("Acquire of %q took it", bad)
		}
		err := s.Update(ctx, func(tx state.Tx) error {
			if rs, err := tx.List("k", bad); err != nil || len(rs) != 0 {
				return fmt.Errorf("List: %v %v", rs, err)
			}
			if n, err := tx.DeleteScope(bad); err != nil || n != 0 {
				return fmt.Errorf("DeleteScope: %d %v", n, err)
			}
			_, err := tx.Put(state.Record{Kind: "k", Key: "ok"}, state.AnyVersion)
			return err
		})
		if err != nil {
			t.Errorf("a transaction using %q: %v", bad, err)
		}
	}
}

// TestRolledBackNotTold: watchers hear of committed writes only (the
// notification is part of the writing transaction).
func TestRolledBackNotTold(t *testing.T) {
	url := newDatabase(t)
	a, b := open(t, Config{URL: url}), open(t, Config{URL: url})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := b.Watch(ctx)
	boom := errors.New("boom")
	err := a.Update(ctx, func(tx state.Tx) error {
		if _, err := tx.Put(state.Record{Kind: "k", Key: "rolled-back"}, state.AnyVersion); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	err = a.Update(ctx, func(tx state.Tx) error {
		if _, err := tx.Put(state.Record{Kind: "k", Key: "committed"}, state.AnyVersion); err != nil {
			return err
		}
		_, err := tx.Put(state.Record{Kind: "k", Key: "committed too"}, state.AnyVersion)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"committed", "committed too"} {
		select {
		case c := <-ch:
			if c != (state.Change{Kind: "k", Key: want}) {
				t.Fatalf("heard %+v, want %s", c, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("did not hear of %s", want)
		}
	}
}

// TestRacingWrites: writers racing through two handles: of the
// compare-and-sets against one version exactly one wins, of the creates
// exactly one, and of the acquisitions of a free lease exactly one.
func TestRacingWrites(t *testing.T) {
	url := newDatabase(t)
	handles := []*Store{open(t, Config{URL: url}), open(t, Config{URL: url})}
	ctx := context.Background()
	if _, err := handles[0].Put(ctx, state.Record{Kind: "k", Key: "cas"}, state.AnyVersion); err != nil {
		t.Fatal(err)
	}
	const n = 16
	race := func(name string, fn func(s *Store, i int) (bool, error)) {
		t.Helper()
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				ok, err := fn(handles[i%2], i)
				if err != nil {
					t.Errorf("%s: %v", name, err)
				}
				mu.Lock()
				if ok {
					won++
				}
				mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
		if won != 1 {
			t.Errorf("%s: %d of %d won, want 1", name, won, n)
		}
	}
	result := func(err error) (bool, error) {
		if errors.Is(err, state.ErrConflict) {
			return false, nil
		}
		return err == nil, err
	}
	race("compare-and-set", func(s *Store, i int) (bool, error) {
		_, err := s.Put(ctx, state.Record{Kind: "k", Key: "cas", Value: []byte(fmt.Sprint(i))}, 1)
		return result(err)
	})
	race("create", func(s *Store, i int) (bool, error) {
		_, err := s.Put(ctx, state.Record{Kind: "k", Key: "new", Value: []byte(fmt.Sprint(i))}, state.MustNotExist)
		return result(err)
	})
	race("delete", func(s *Store, i int) (bool, error) {
		err := s.Delete(ctx, "k", "", "cas", 2)
		if errors.Is(err, state.ErrNotFound) { // deleted by the winner already
			return false, nil
		}
		return result(err)
	})
	race("lease", func(s *Store, i int) (bool, error) {
		return s.Acquire(ctx, "trigger/race", fmt.Sprint("node-", i), time.Hour)
	})
}

// TestSilentServer: a server that accepts connections and never answers
// holds Open only until its context ends.
func TestSilentServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = Open(ctx, Config{URL: fmt.Sprintf("postgres://postgres@%s/x?sslmode=disable", l.Addr())})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Open of a silent server: %v", err)
	}
}

// TestSilentConnection: when the listening connection goes silent (the
// server or the network stops answering without closing it), the ping
// notices, the store dials again and, once listening, tells watchers to
// reload everything.
func TestSilentConnection(t *testing.T) {
	url := newDatabase(t)
	p := newProxy(t)
	s := open(t, Config{URL: p.url(url), PingInterval: 100 * time.Millisecond, ReconnectDelay: 20 * time.Millisecond})
	other := open(t, Config{URL: url})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := s.Watch(ctx)
	if _, err := other.Put(ctx, state.Record{Kind: "k", Key: "a"}, state.AnyVersion); err != nil {
		t.Fatal(err)
	}
	recv(t, ch, state.Change{Kind: "k", Key: "a"})
	p.freeze()
	// Longer than PingInterval and the ping's timeout (at least 1 s)
	// together: the ping times out, and so do dials until the thaw.
	time.Sleep(2500 * time.Millisecond)
	if _, err := other.Put(ctx, state.Record{Kind: "k", Key: "b"}, state.AnyVersion); err != nil {
		t.Fatal(err)
	}
	p.thaw()
	recv(t, ch, state.Change{})
	if _, err := other.Put(ctx, state.Record{Kind: "k", Key: "c"}, state.AnyVersion); err != nil {
		t.Fatal(err)
	}
	recv(t, ch, state.Change{Kind: "k", Key: "c"})
}
