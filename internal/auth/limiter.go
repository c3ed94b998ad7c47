package auth

import (
	"sync"
	"time"
)

// Limiter counts failed attempts per key (a username, a client address) in a sliding window and
// refuses further attempts once a key reaches its limit, until its oldest failure leaves the window.
// It lives in memory: a restart forgets it, which is acceptable because the window is short and
// the password hash is slow. It holds at most maxKeys keys; when full it drops expired keys first
// and then refuses new keys rather than grow without bound.
type Limiter struct {
	mu      sync.Mutex
	limit   int
	window  time.Duration
	maxKeys int
	now     func() time.Time
	fails   map[string][]time.Time
}

// NewLimiter allows limit failures per key within window.
func NewLimiter(limit int, window time.Duration, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	limit = max(limit, 1) // a limit below one would refuse everyone and break RetryAfter
	return &Limiter{limit: limit, window: window, maxKeys: 100_000, now: now, fails: map[string][]time.Time{}}
}

// Allow reports whether another attempt for key may be made now.
func (l *Limiter) Allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recent(key)) < l.limit
}

// RetryAfter says how long until key may try again (0 when it may now).
func (l *Limiter) RetryAfter(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.recent(key)
	if len(r) < l.limit {
		return 0
	}
	return r[len(r)-l.limit].Add(l.window).Sub(l.now())
}

// Fail records a failed attempt for key.
func (l *Limiter) Fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.fails[key]; !ok && len(l.fails) >= l.maxKeys {
		l.sweep()
		if len(l.fails) >= l.maxKeys {
			return
		}
	}
	r := append(l.recent(key), l.now())
	if len(r) > l.limit {
		r = r[len(r)-l.limit:]
	}
	l.fails[key] = r
}

// Reset forgets key's failures, after a successful attempt.
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, key)
}

// recent drops failures older than the window and returns the rest. l.mu must be held.
func (l *Limiter) recent(key string) []time.Time {
	r := l.fails[key]
	cut := l.now().Add(-l.window)
	i := 0
	for i < len(r) && !r[i].After(cut) {
		i++
	}
	if i == len(r) {
		delete(l.fails, key)
		return nil
	}
	r = r[i:]
	l.fails[key] = r
	return r
}

func (l *Limiter) sweep() {
	for k := range l.fails {
		l.recent(k)
	}
}
