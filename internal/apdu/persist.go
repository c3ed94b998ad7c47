package apdu

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The saved form of a SoftCard is JSON, with bytes in upper-case hex so that a person can compare a
// file with an APDU trace. It is versioned by "format" and "version"; a reader refuses a version it
// does not know rather than guessing. Version 2 added the transaction key and the transaction
// counter; a version 1 file (a card made before them) still loads, as a card without a transaction
// key, and is saved as version 2.
const (
	savedFormat  = "shebao-softcard"
	savedVersion = 2
	// maxSaved bounds what LoadSoftCard reads. A full card is a few kilobytes.
	maxSaved = 1 << 20
)

type savedCard struct {
	Format  string        `json:"format"`
	Version int           `json:"version"`
	ATR     hexBytes      `json:"atr"`
	EF05    []savedRecord `json:"ef05"`
	EF06    []savedRecord `json:"ef06"`
	Keys    savedKeys     `json:"keys"`
	PIN     savedPIN      `json:"pin"`
	// ATC is the application transaction counter (version 2; absent in version 1).
	ATC *int `json:"atc,omitempty"`
}

// savedRecord writes the tag in hex too, as "20" rather than 32, the way tags are written everywhere
// else.
type savedRecord struct {
	Tag   hexBytes `json:"tag"`
	Value hexBytes `json:"value"`
}

type savedKeys struct {
	InternalAuth hexBytes `json:"internalAuth"`
	ExternalAuth hexBytes `json:"externalAuth"`
	PIN          hexBytes `json:"pin"`
	// Transaction is absent for a card without a transaction key, and always in version 1.
	Transaction hexBytes `json:"transaction,omitempty"`
}

// savedPIN holds the PIN's salted hash, never the PIN. Blocked is redundant with TriesLeft = 0 and is
// written for a human reading the file; LoadSoftCard refuses a file where the two disagree.
type savedPIN struct {
	Salt      hexBytes `json:"salt"`
	SM3       hexBytes `json:"sm3"`
	TryLimit  int      `json:"tryLimit"`
	TriesLeft int      `json:"triesLeft"`
	Blocked   bool     `json:"blocked"`
}

type hexBytes []byte

func (h hexBytes) MarshalText() ([]byte, error) {
	return []byte(strings.ToUpper(hex.EncodeToString(h))), nil
}

func (h *hexBytes) UnmarshalText(b []byte) error {
	out := make([]byte, hex.DecodedLen(len(b)))
	if _, err := hex.Decode(out, b); err != nil {
		return errors.New("not hex")
	}
	*h = out
	return nil
}

// Save writes the card's whole application state: ATR, files, keys, PIN salt and hash, try limit,
// tries left, whether the PIN is blocked, and the transaction counter. The session is not saved.
// The output holds the card's keys; keep it as secret as they are.
func (c *SoftCard) Save(w io.Writer) error {
	c.mu.Lock()
	atc := int(c.atc)
	var transaction hexBytes
	if c.keys.Transaction != ([16]byte{}) {
		transaction = hexBytes(c.keys.Transaction[:])
	}
	s := savedCard{
		Format:  savedFormat,
		Version: savedVersion,
		ATR:     hexBytes(c.atr),
		EF05:    saveRecords(c.files[EFIssuer]),
		EF06:    saveRecords(c.files[EFHolder]),
		Keys: savedKeys{
			InternalAuth: hexBytes(c.keys.InternalAuth[:]),
			ExternalAuth: hexBytes(c.keys.ExternalAuth[:]),
			PIN:          hexBytes(c.keys.PIN[:]),
			Transaction:  transaction,
		},
		ATC: &atc,
		PIN: savedPIN{
			Salt:      hexBytes(c.pin.salt[:]),
			SM3:       hexBytes(c.pin.hash[:]),
			TryLimit:  c.pin.limit,
			TriesLeft: c.pin.left,
			Blocked:   c.pin.left == 0,
		},
	}
	b, err := json.MarshalIndent(s, "", "  ")
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("apdu: save card: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("apdu: save card: %w", err)
	}
	return nil
}

func saveRecords(rs []Record) []savedRecord {
	out := make([]savedRecord, len(rs))
	for i, r := range rs {
		out[i] = savedRecord{Tag: hexBytes{r.Tag}, Value: hexBytes(r.Value)}
	}
	return out
}

// LoadSoftCard reads a card written by Save. It checks everything as NewSoftCard does, and also the
// format and version, the lengths of keys, salt and hash, that the tries left lie in 0..limit and
// agree with the blocked flag, and that nothing unknown or extra is in the input. The loaded card
// starts a fresh session, as a card put into a reader does.
func LoadSoftCard(r io.Reader) (*SoftCard, error) {
	c, err := loadSoftCard(r)
	if err != nil {
		return nil, fmt.Errorf("apdu: load card: %w", err)
	}
	return c, nil
}

func loadSoftCard(r io.Reader) (*SoftCard, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxSaved+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSaved {
		return nil, fmt.Errorf("more than %d bytes", maxSaved)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s savedCard
	if err := dec.Decode(&s); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the card")
	}
	if s.Format != savedFormat {
		return nil, fmt.Errorf("format %q, want %q", s.Format, savedFormat)
	}
	switch {
	case s.Version != 1 && s.Version != savedVersion:
		return nil, fmt.Errorf("version %d is not supported (want 1 or %d)", s.Version, savedVersion)
	case s.Version == 1 && (s.Keys.Transaction != nil || s.ATC != nil):
		return nil, errors.New("a version 1 card has no transaction key or counter")
	case s.Version == savedVersion && s.ATC == nil:
		return nil, errors.New("no transaction counter (atc)")
	}

	c := &SoftCard{rand: rand.Reader}
	for _, k := range []struct {
		name string
		dst  *[16]byte
		src  hexBytes
	}{
		{"internalAuth", &c.keys.InternalAuth, s.Keys.InternalAuth},
		{"externalAuth", &c.keys.ExternalAuth, s.Keys.ExternalAuth},
		{"pin", &c.keys.PIN, s.Keys.PIN},
	} {
		if len(k.src) != len(k.dst) {
			return nil, fmt.Errorf("key %s has %d bytes, want %d", k.name, len(k.src), len(k.dst))
		}
		copy(k.dst[:], k.src)
	}
	if t := s.Keys.Transaction; t != nil {
		if len(t) != len(c.keys.Transaction) {
			return nil, fmt.Errorf("key transaction has %d bytes, want %d", len(t), len(c.keys.Transaction))
		}
		if [16]byte(t) == ([16]byte{}) {
			// All zeros is how a card says it has no transaction key; a file says it by leaving
			// the key out, so that a zeroed key cannot pass for a real one.
			return nil, errors.New("key transaction is all zeros (leave it out for a card without one)")
		}
		copy(c.keys.Transaction[:], t)
	}
	if s.ATC != nil {
		if *s.ATC < 0 || *s.ATC > int(MaxATC) {
			return nil, fmt.Errorf("transaction counter %d, want 0..%d", *s.ATC, MaxATC)
		}
		c.atc = uint16(*s.ATC)
	}
	ef05, err := loadRecords(s.EF05)
	if err != nil {
		return nil, fmt.Errorf("EF05: %w", err)
	}
	ef06, err := loadRecords(s.EF06)
	if err != nil {
		return nil, fmt.Errorf("EF06: %w", err)
	}
	if err := c.setContent(s.ATR, ef05, ef06); err != nil {
		return nil, err
	}

	p := s.PIN
	if len(p.Salt) != len(c.pin.salt) || len(p.SM3) != len(c.pin.hash) {
		return nil, fmt.Errorf("PIN salt and hash have %d and %d bytes, want %d and %d",
			len(p.Salt), len(p.SM3), len(c.pin.salt), len(c.pin.hash))
	}
	if p.TryLimit < 1 || p.TryLimit > 15 {
		return nil, fmt.Errorf("PIN try limit %d, want 1..15", p.TryLimit)
	}
	if p.TriesLeft < 0 || p.TriesLeft > p.TryLimit {
		return nil, fmt.Errorf("PIN tries left %d, want 0..%d", p.TriesLeft, p.TryLimit)
	}
	if p.Blocked != (p.TriesLeft == 0) {
		return nil, fmt.Errorf("PIN blocked is %t with %d tries left", p.Blocked, p.TriesLeft)
	}
	copy(c.pin.salt[:], p.Salt)
	copy(c.pin.hash[:], p.SM3)
	c.pin.limit, c.pin.left = p.TryLimit, p.TriesLeft
	return c, nil
}

func loadRecords(rs []savedRecord) ([]Record, error) {
	out := make([]Record, len(rs))
	for i, r := range rs {
		if len(r.Tag) != 1 {
			return nil, fmt.Errorf("record %d: tag of %d bytes, want 1", i+1, len(r.Tag))
		}
		out[i] = Record{Tag: r.Tag[0], Value: r.Value}
	}
	return out, nil
}
