package auth

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/db/dbtest"
)

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// When the limiter holds maxKeys keys it first drops keys whose failures have all expired, and
// only when none have does it stop recording new keys, so its memory stays bounded.
func TestLimiterMaxKeys(t *testing.T) {
	clock := dbtest.NewClock(t0)
	l := NewLimiter(1, time.Minute, clock.Now)
	l.maxKeys = 3
	for i := range 3 {
		l.Fail(fmt.Sprintf("k%d", i))
	}
	l.Fail("new")
	if len(l.fails) != 3 {
		t.Fatalf("limiter holds %d keys, want at most 3", len(l.fails))
	}
	if !l.Allow("new") {
		t.Fatal("a key that could not be recorded is refused")
	}
	if l.Allow("k0") {
		t.Fatal("a recorded key is allowed past its limit")
	}
	// An existing key is still counted when the limiter is full.
	clock.Advance(30 * time.Second)
	l.Fail("k1")
	if len(l.fails["k1"]) != 1 || !l.fails["k1"][0].Equal(clock.Now()) {
		t.Fatalf("k1 failures = %v, want only the newest", l.fails["k1"])
	}

	// Past the window of k0 and k2 (k1 failed again 30 s later) there is room again.
	clock.Advance(31 * time.Second)
	l.Fail("new")
	if l.Allow("new") {
		t.Fatal("the new key was not recorded after expired keys were swept")
	}
	if _, ok := l.fails["k0"]; ok {
		t.Error("expired key k0 survived the sweep")
	}
	if _, ok := l.fails["k1"]; !ok {
		t.Error("k1, still in its window, was swept")
	}
	if len(l.fails) > l.maxKeys {
		t.Errorf("limiter holds %d keys, more than %d", len(l.fails), l.maxKeys)
	}
}

// Allow and RetryAfter forget a key whose failures have all left the window.
func TestLimiterForgetsExpiredKeys(t *testing.T) {
	clock := dbtest.NewClock(t0)
	l := NewLimiter(2, time.Minute, clock.Now)
	l.Fail("a")
	l.Fail("b")
	clock.Advance(time.Minute)
	if !l.Allow("a") || l.RetryAfter("b") != 0 {
		t.Fatal("expired failures still count")
	}
	if len(l.fails) != 0 {
		t.Errorf("limiter still holds %v", l.fails)
	}
}

func TestSessionCacheEntries(t *testing.T) {
	var c sessionCache
	alice, bob := User{ID: 1, Username: "alice"}, User{ID: 2, Username: "bob"}
	if _, ok := c.get("h", t0); ok {
		t.Fatal("empty cache returned an entry")
	}
	c.drop("h")   // harmless on an empty cache
	c.dropUser(1) // likewise

	c.put("a1", alice, t0.Add(time.Hour), t0)
	c.put("a2", alice, t0.Add(time.Hour), t0)
	c.put("b1", bob, t0.Add(3*time.Second), t0) // the session ends before the cache time
	tests := []struct {
		name string
		key  string
		at   time.Time
		want bool
	}{
		{"fresh", "a1", t0, true},
		{"9.999 s later", "a1", t0.Add(cacheTTL - time.Millisecond), true},
		{"at the cache time", "a1", t0.Add(cacheTTL), false},
		{"before the session ends", "b1", t0.Add(2 * time.Second), true},
		{"when the session ends", "b1", t0.Add(3 * time.Second), false},
		{"unknown", "zz", t0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := c.get(tc.key, tc.at); ok != tc.want {
				t.Errorf("get(%q, +%v) = %v, want %v", tc.key, tc.at.Sub(t0), ok, tc.want)
			}
		})
	}
	if u, ok := c.get("a2", t0); !ok || u.Username != "alice" {
		t.Fatalf("get(a2) = %+v, %v", u, ok)
	}
	c.drop("a1")
	if _, ok := c.get("a1", t0); ok {
		t.Error("dropped entry still returned")
	}
	c.dropUser(1)
	if _, ok := c.get("a2", t0); ok {
		t.Error("entry of a dropped user still returned")
	}
	if _, ok := c.get("b1", t0); !ok {
		t.Error("dropUser(alice) dropped bob's entry")
	}
}

func TestSessionCacheBounded(t *testing.T) {
	var c sessionCache
	for i := range 10_050 {
		c.put(fmt.Sprint(i), User{ID: int64(i)}, t0.Add(time.Hour), t0)
	}
	if n := len(c.m); n > 10_001 {
		t.Fatalf("cache holds %d entries, want at most 10,001", n)
	}
}

func TestUserColumns(t *testing.T) {
	if got := userColumns("u."); !strings.HasPrefix(got, "u.id, u.username,") || !strings.Contains(got, "COALESCE(u.person_id, 0)") {
		t.Errorf("userColumns = %q", got)
	}
}

func TestRandomToken(t *testing.T) {
	a, b := randomToken("p_"), randomToken("p_")
	if a == b || len(a) != 2+52 || a[:2] != "p_" {
		t.Errorf("randomToken = %q, %q", a, b)
	}
	if h := hashToken("abc"); h != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("hashToken(abc) = %s, want the SHA-256 test vector", h)
	}
}

// A login for a username that does not exist checks a real hash, so it costs what a wrong
// password costs.
func TestDummyHashIsReal(t *testing.T) {
	if ok, err := CheckPassword(dummyHash, "not a real password, only spends time"); err != nil || !ok {
		t.Fatalf("dummyHash does not verify: %v, %v", ok, err)
	}
}
