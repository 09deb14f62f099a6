package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tracecomb/tracecomb/internal/state"
)

// watchBuffer is how many changes a watcher's channel holds before the
// store tells it to reload everything instead.
const watchBuffer = 256

// Watch implements state.Store. Changes come from the store's listening
// connection, so they include this handle's own writes.
func (s *Store) Watch(ctx context.Context) <-chan state.Change {
	// One slot more than watchBuffer: the "reload everything" that
	// follows the changes a slow reader missed always has room.
	ch := make(chan state.Change, watchBuffer+1)
	s.mu.Lock()
	if s.wclosed {
		s.mu.Unlock()
		close(ch)
		return ch
	}
	s.watchers[ch] = struct{}{}
	s.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
		case <-s.stop:
		}
		s.mu.Lock()
		if _, ok := s.watchers[ch]; ok {
			delete(s.watchers, ch)
			close(ch)
		}
		s.mu.Unlock()
	}()
	return ch
}

// broadcast hands c to every watcher without blocking. The store is each
// channel's only sender (under mu), so a change is queued only while two
// slots are free, and once a change is dropped a "reload everything"
// (Change{}) is queued after everything the reader has not read yet.
func (s *Store) broadcast(c state.Change) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.watchers {
		if len(ch) < cap(ch)-1 {
			ch <- c
			continue
		}
		select {
		case ch <- state.Change{}:
		default: // full: its last entry is a reload already
		}
	}
}

// dialListener opens the connection that listens on Channel.
func (s *Store) dialListener(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.listenCC)
	if err != nil {
		return nil, wrap(ctx, "connect to listen", err)
	}
	if _, err := conn.Exec(ctx, `LISTEN `+Channel); err != nil {
		_ = conn.Close(context.Background())
		return nil, wrap(ctx, "listen", err)
	}
	return conn, nil
}

// listen hands the notifications of conn to the watchers until ctx ends.
// When the connection breaks it dials again, backing off, and once it
// listens again tells every watcher to reload everything: changes made
// meanwhile were not heard.
func (s *Store) listen(ctx context.Context, conn *pgx.Conn) {
	defer close(s.done)
	delay := s.cfg.ReconnectDelay
	failures := 0
	for {
		if conn == nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
			dctx, cancel := context.WithTimeout(ctx, max(s.cfg.PingInterval, time.Second)) // a server that accepts and never answers
			c, err := s.dialListener(dctx)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				failures++
				if failures == 1 || failures%20 == 0 {
					s.logger.Warn("state: cannot listen for changes; retrying", "err", err, "attempts", failures)
				}
				delay = min(2*delay, MaxReconnectDelay)
				continue
			}
			conn, delay, failures = c, s.cfg.ReconnectDelay, 0
			s.logger.Info("state: listening for changes again; watchers reload everything")
			s.broadcast(state.Change{})
		}
		if err := s.wait(ctx, conn); err != nil {
			cctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = conn.Close(cctx)
			cancel()
			conn = nil
			if ctx.Err() != nil {
				return
			}
			s.logger.Warn("state: lost the connection that listens for changes; reconnecting", "err", err)
		}
	}
}

// wait waits for one notification on conn and broadcasts it; silent for
// PingInterval, it pings the server instead (a server gone without
// closing the connection is noticed this way).
func (s *Store) wait(ctx context.Context, conn *pgx.Conn) error {
	wctx, cancel := context.WithTimeout(ctx, s.cfg.PingInterval)
	n, err := conn.WaitForNotification(wctx)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		// As for dialling, at least a second: a busy machine's ping can
		// take longer than a short interval without the server being gone.
		pctx, cancel := context.WithTimeout(ctx, max(s.cfg.PingInterval, time.Second))
		defer cancel()
		return conn.Ping(pctx)
	}
	if n.Channel == Channel {
		s.broadcast(decodeChange(n.Payload))
	}
	return nil
}

// decodeChange reads a notification's payload, ["kind","scope","key"]
// (as the records table's trigger writes it). Anything else, the empty
// payload included, is "reload everything".
func decodeChange(payload string) state.Change {
	var f []string
	if err := json.Unmarshal([]byte(payload), &f); err != nil || len(f) != 3 || f[0] == "" {
		return state.Change{}
	}
	return state.Change{Kind: state.Kind(f[0]), Scope: f[1], Key: f[2]}
}
