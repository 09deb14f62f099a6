package api

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FailureLimiter counts failed authentications per client address and
// refuses an address that failed Max times within Window until the window
// has passed, so keys cannot be guessed at speed. It tracks at most
// MaxAddrs addresses (memory is bounded: past that, expired entries go,
// then arbitrary ones). Zero fields take defaults: 20 failures a minute,
// 10,000 addresses.
type FailureLimiter struct {
	Max      int
	Window   time.Duration
	MaxAddrs int
	Now      func() time.Time

	mu     sync.Mutex
	byAddr map[string]*failures
}

type failures struct {
	n     int
	start time.Time
}

func (l *FailureLimiter) defaults() {
	if l.Max <= 0 {
		l.Max = 20
	}
	if l.Window <= 0 {
		l.Window = time.Minute
	}
	if l.MaxAddrs <= 0 {
		l.MaxAddrs = 10_000
	}
	if l.Now == nil {
		l.Now = time.Now
	}
	if l.byAddr == nil {
		l.byAddr = map[string]*failures{}
	}
}

// ClientAddr is the address part of a request's remote address.
func ClientAddr(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// Blocked reports whether addr must wait, and how long.
func (l *FailureLimiter) Blocked(addr string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.defaults()
	f, ok := l.byAddr[addr]
	if !ok || f.n < l.Max {
		return 0, false
	}
	left := f.start.Add(l.Window).Sub(l.Now())
	if left <= 0 {
		delete(l.byAddr, addr)
		return 0, false
	}
	return left, true
}

// Fail counts one failed authentication from addr.
func (l *FailureLimiter) Fail(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.defaults()
	now := l.Now()
	f, ok := l.byAddr[addr]
	if ok && now.Sub(f.start) >= l.Window {
		ok = false
	}
	if !ok {
		if len(l.byAddr) >= l.MaxAddrs {
			l.evict(now)
		}
		f = &failures{start: now}
		l.byAddr[addr] = f
	}
	f.n++
}

// evict makes room: expired entries first, then any.
func (l *FailureLimiter) evict(now time.Time) {
	for a, f := range l.byAddr {
		if now.Sub(f.start) >= l.Window {
			delete(l.byAddr, a)
		}
	}
	for a := range l.byAddr {
		if len(l.byAddr) < l.MaxAddrs {
			return
		}
		delete(l.byAddr, a)
	}
}

// WriteTooManyFailures answers 429 with Retry-After for a blocked address.
func WriteTooManyFailures(w http.ResponseWriter, wait time.Duration) {
	secs := int((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	WriteError(w, http.StatusTooManyRequests, "too many failed authentications from this address; retry in "+strconv.Itoa(max(secs, 1))+" s")
}

// LimitAuthFailures refuses, under Honeycomb's API paths (/1/, /2/,
// /api/) but not its ingest ones (/1/events/, /1/batch/, whose senders
// retry), an address whose requests failed authentication (401) too
// often, with 429 and Retry-After.
func LimitAuthFailures(l *FailureLimiter, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if !(strings.HasPrefix(p, "/1/") || strings.HasPrefix(p, "/2/") || strings.HasPrefix(p, "/api/")) ||
			strings.HasPrefix(p, "/1/events/") || strings.HasPrefix(p, "/1/batch/") {
			next.ServeHTTP(w, r)
			return
		}
		addr := ClientAddr(r)
		if wait, blocked := l.Blocked(addr); blocked {
			WriteTooManyFailures(w, wait)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == http.StatusUnauthorized {
			l.Fail(addr)
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
