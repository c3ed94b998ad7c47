// Package keys is the key service: the only code in shebao that ever holds plaintext key
// material. It is built the way payment-card issuers do it (dual control, split knowledge, a key
// hierarchy):
//
//   - The master key is never stored. It is the XOR of N full-length SM4 components, each held by
//     a different custodian and recognised by its key check value. N of N are needed: an absent
//     custodian's component is held in a second copy by a backup custodian, as PCI PIN allows. The
//     server starts sealed and can use no key until every component has been entered.
//   - Hierarchy: master key → one key-encrypting key (KEK) per region → issuer keys per region, by
//     purpose and version (card master, internal and external authentication, PIN, transaction MAC,
//     SM2 signing) → per-card keys diversified from an issuer key with the card identification code
//     → session keys. Every stored key is wrapped (SM4-GCM) under its parent, with its region,
//     purpose and version bound in, and carries its KCV, status and allowed operations; a key used
//     for another purpose is refused.
//   - Dual control: generating, rotating, exporting and destroying issuer keys are requests that run
//     only when enough distinct custodians other than the requester have approved (the region's
//     policy says how many, at least two).
//   - Payments: a social security card's transaction cryptogram, which binds a settlement's amount,
//     date, institution and digest, is checked here against the card's diversified transaction key,
//     and each card's transaction counter is accepted once, in the settlement's own transaction
//     (AcceptTransaction; docs/keys.md "Paying with the card").
//   - Algorithms: SM4 for keys and cryptograms, SM2 for signatures and for wrapping an export to a
//     card manufacturer, SM3 inside SM2 and the audit chain (github.com/emmansun/gmsm).
//
// A development mode, used only by `serve --demo`, forms the master key from public components; a
// keystore made that way is marked development and can never be unsealed the production way, nor
// a production keystore the development way.
//
// This package must never return, log or store plaintext key material outside its own memory,
// except a personalised card, which holds its own keys as a chip does.
package keys

import (
	"context"
	"crypto/cipher"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/policy"
)

// Purpose says what a key is for.
type Purpose string

const (
	KEK            Purpose = "kek"             // wraps a region's issuer keys
	CardMaster     Purpose = "card_master"     // the card's master key, for personalisation
	InternalAuth   Purpose = "internal_auth"   // the card proves it is genuine
	ExternalAuth   Purpose = "external_auth"   // a terminal proves it may read holder data
	PINKey         Purpose = "pin"             // PIN reload and unblock
	TransactionMAC Purpose = "transaction_mac" // MACs over card transactions
	Signing        Purpose = "signing"         // SM2: e-card QR codes and certificates
)

// IssuerPurposes are the keys of one issuer key set, generated and rotated together.
var IssuerPurposes = []Purpose{CardMaster, InternalAuth, ExternalAuth, PINKey, TransactionMAC, Signing}

// Op is an operation a key may be used for.
type Op string

const (
	OpWrap      Op = "wrap"
	OpDiversify Op = "diversify"
	OpSign      Op = "sign"
	OpExport    Op = "export"
)

// allowed is the one table of which purpose allows which operations.
var allowed = map[Purpose][]Op{
	KEK:            {OpWrap},
	CardMaster:     {OpDiversify, OpExport},
	InternalAuth:   {OpDiversify, OpExport},
	ExternalAuth:   {OpDiversify, OpExport},
	PINKey:         {OpDiversify, OpExport},
	TransactionMAC: {OpDiversify, OpExport},
	Signing:        {OpSign},
}

// Allows reports whether a key of purpose p may be used for op.
func Allows(p Purpose, op Op) bool { return slices.Contains(allowed[p], op) }

func refuse(p Purpose, op Op) error {
	return errs.E(errs.Forbidden, "a %s key may not be used to %s", p, op)
}

// ErrSealed is returned by every operation that needs a key while the service is sealed.
var ErrSealed = errs.E(errs.Unavailable, "the key service is sealed: custodians must enter their key components")

// Service is the key service.
type Service struct {
	db       *db.DB
	policies *policy.Store
	log      *slog.Logger
	now      func() time.Time

	mu      sync.RWMutex
	master  []byte         // nil while sealed
	entered map[int][]byte // components entered so far, by index
	sm4s    map[int64]cipher.Block
	sm2s    map[int64]*sm2.PrivateKey
	txKeys  map[issuerRef]cachedBlock // see transactionKey

	challenges *challenges
}

// New returns a sealed key service.
func New(d *db.DB, p *policy.Store, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{db: d, policies: p, log: log, now: d.Now, entered: map[int][]byte{},
		sm4s: map[int64]cipher.Block{}, sm2s: map[int64]*sm2.PrivateKey{}, txKeys: map[issuerRef]cachedBlock{},
		challenges: newChallenges(d.Now)}
}

// Sealed reports whether the service can use keys.
func (s *Service) Sealed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.master == nil
}

// Seal forgets the master key and every unwrapped key. Used at shutdown and by custodians.
func (s *Service) Seal(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sealLocked()
}

func (s *Service) sealLocked() {
	if s.master != nil {
		zero(s.master)
	}
	for _, c := range s.entered {
		zero(c)
	}
	s.master, s.entered = nil, map[int][]byte{}
	s.sm4s, s.sm2s = map[int64]cipher.Block{}, map[int64]*sm2.PrivateKey{}
	s.txKeys = map[issuerRef]cachedBlock{}
}
