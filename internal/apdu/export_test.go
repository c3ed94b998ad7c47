package apdu

import "io"

// NewSoftCardWithRand personalises a card whose salts and challenges come from r, so that tests
// and fuzzers can predict the challenge and compute the EXTERNAL AUTHENTICATE cryptogram.
func NewSoftCardWithRand(p Personalization, r io.Reader) (*SoftCard, error) {
	return newSoftCard(p, r)
}

// SetRand replaces the card's random source.
func (c *SoftCard) SetRand(r io.Reader) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rand = r
}
