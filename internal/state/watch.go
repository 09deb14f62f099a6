package state

import (
	"context"
	"sync"
)

// watch is both stores' Watch: it registers a channel in watchers (guarded
// by mu) until ctx ends or stop closes, then closes it; a store already
// closed (*closed, read under mu) gets a closed channel. The store sends
// each Change to every registered channel.
func watch(ctx context.Context, mu sync.Locker, closed *bool, stop <-chan struct{}, watchers map[chan Change]struct{}) <-chan Change {
	ch := make(chan Change, 256)
	mu.Lock()
	if *closed {
		mu.Unlock()
		close(ch)
		return ch
	}
	watchers[ch] = struct{}{}
	mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
		case <-stop:
		}
		mu.Lock()
		if _, ok := watchers[ch]; ok {
			delete(watchers, ch)
			close(ch)
		}
		mu.Unlock()
	}()
	return ch
}
