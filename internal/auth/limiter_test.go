package auth_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db/dbtest"
)

var epoch = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

func mustAllow(t *testing.T, l *auth.Limiter, key string, want bool) {
	t.Helper()
	if got := l.Allow(key); got != want {
		t.Fatalf("Allow(%q) = %v, want %v", key, got, want)
	}
}

func TestLimiterAllowsLimitFailures(t *testing.T) {
	for _, limit := range []int{1, 3, 5} {
		t.Run(fmt.Sprintf("limit=%d", limit), func(t *testing.T) {
			clock := dbtest.NewClock(epoch)
			l := auth.NewLimiter(limit, time.Minute, clock.Now)
			for i := range limit {
				mustAllow(t, l, "u:alice", true)
				if d := l.RetryAfter("u:alice"); d != 0 {
					t.Fatalf("after %d failures RetryAfter = %v, want 0", i, d)
				}
				l.Fail("u:alice")
			}
			mustAllow(t, l, "u:alice", false)
			if d := l.RetryAfter("u:alice"); d != time.Minute {
				t.Fatalf("RetryAfter = %v, want 1m", d)
			}
			mustAllow(t, l, "u:bob", true) // keys are independent
		})
	}
}

func TestLimiterWindowSlides(t *testing.T) {
	clock := dbtest.NewClock(epoch)
	l := auth.NewLimiter(3, time.Minute, clock.Now)
	const key = "a:192.0.2.1"
	l.Fail(key) // t=0
	clock.Advance(10 * time.Second)
	l.Fail(key) // t=10s
	clock.Advance(10 * time.Second)
	l.Fail(key) // t=20s
	mustAllow(t, l, key, false)
	if d := l.RetryAfter(key); d != 40*time.Second {
		t.Fatalf("RetryAfter = %v, want 40s (the oldest failure leaves at t=60s)", d)
	}
	clock.Advance(39 * time.Second) // t=59s
	mustAllow(t, l, key, false)
	if d := l.RetryAfter(key); d != time.Second {
		t.Fatalf("RetryAfter = %v, want 1s", d)
	}
	clock.Advance(time.Second) // t=60s: the first failure is out of the window
	mustAllow(t, l, key, true)
	if d := l.RetryAfter(key); d != 0 {
		t.Fatalf("RetryAfter = %v, want 0", d)
	}
	l.Fail(key) // t=60s; failures now at 10s, 20s, 60s
	mustAllow(t, l, key, false)
	if d := l.RetryAfter(key); d != 10*time.Second {
		t.Fatalf("RetryAfter = %v, want 10s (the failure at t=10s leaves at t=70s)", d)
	}
	clock.Advance(time.Hour)
	mustAllow(t, l, key, true)
	if d := l.RetryAfter(key); d != 0 {
		t.Fatalf("RetryAfter after an hour = %v, want 0", d)
	}
}

// More failures than the limit keep the key refused only until the limit-th newest one expires.
func TestLimiterExtraFailures(t *testing.T) {
	clock := dbtest.NewClock(epoch)
	l := auth.NewLimiter(2, time.Minute, clock.Now)
	for range 10 {
		l.Fail("k")
		clock.Advance(time.Second)
	}
	// Failures at 0..9s; the 2nd newest (8s) leaves at 68s; now is 10s.
	if d := l.RetryAfter("k"); d != 58*time.Second {
		t.Fatalf("RetryAfter = %v, want 58s", d)
	}
	clock.Advance(58 * time.Second)
	mustAllow(t, l, "k", true)
}

func TestLimiterReset(t *testing.T) {
	clock := dbtest.NewClock(epoch)
	l := auth.NewLimiter(2, time.Minute, clock.Now)
	l.Fail("u:alice")
	l.Fail("u:alice")
	l.Fail("u:bob")
	l.Fail("u:bob")
	mustAllow(t, l, "u:alice", false)
	l.Reset("u:alice")
	mustAllow(t, l, "u:alice", true)
	if d := l.RetryAfter("u:alice"); d != 0 {
		t.Fatalf("RetryAfter after Reset = %v", d)
	}
	l.Fail("u:alice")
	mustAllow(t, l, "u:alice", true) // one failure since the reset
	mustAllow(t, l, "u:bob", false)  // other keys keep their failures
	l.Reset("u:nobody")              // resetting an unknown key is harmless
}

func TestLimiterDefaultClock(t *testing.T) {
	l := auth.NewLimiter(1, time.Hour, nil)
	mustAllow(t, l, "k", true)
	l.Fail("k")
	mustAllow(t, l, "k", false)
	if d := l.RetryAfter("k"); d <= 59*time.Minute || d > time.Hour {
		t.Fatalf("RetryAfter = %v, want just under an hour", d)
	}
}
