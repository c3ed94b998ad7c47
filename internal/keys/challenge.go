package keys

import (
	"crypto/rand"
	"sync"
	"time"
)

// challenges are the data the key service hands out for INTERNAL AUTHENTICATE. Each is valid for a
// short time and can be used once, so an answer recorded from one authentication cannot be
// replayed in another. They live in memory, bounded in number: an instance that restarts simply
// refuses the answers to challenges it gave before.
type challenges struct {
	mu   sync.Mutex
	now  func() time.Time
	open map[[16]byte]time.Time
}

const (
	challengeTTL = 60 * time.Second
	maxOpen      = 100_000
)

func newChallenges(now func() time.Time) *challenges {
	return &challenges{now: now, open: map[[16]byte]time.Time{}}
}

func (c *challenges) issue() ([16]byte, error) {
	var ch [16]byte
	if _, err := rand.Read(ch[:]); err != nil {
		return ch, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.open) >= maxOpen {
		for k, exp := range c.open {
			if now.After(exp) {
				delete(c.open, k)
			}
		}
		if len(c.open) >= maxOpen {
			return ch, errTooManyChallenges
		}
	}
	c.open[ch] = now.Add(challengeTTL)
	return ch, nil
}

// take consumes a challenge, reporting whether it was issued, unused and unexpired.
func (c *challenges) take(ch [16]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	exp, ok := c.open[ch]
	delete(c.open, ch)
	return ok && !c.now().After(exp)
}
