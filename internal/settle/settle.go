// Package settle is medical settlement (SPEC 3.5): the designated hospitals and pharmacies, the
// split of a bill between the pooled fund, the person's medical account and cash, the year's
// counters, refunds, the institutions' daily reconciliation and the bureau's monthly clearing.
//
// A settlement is paid with the social security card (its transaction cryptogram, checked by the
// key service, binds what is paid), the electronic card's single-use code, or the bank's medical
// insurance card within the policy's lower limits. Every settlement and refund goes through one
// writer (engine.go), which takes whatever requests are waiting, carries them out in one
// transaction, commits once and only then answers each: many settlements share one fsync, a bad
// request is left out of its batch with its own error, and no two settlements of one person ever
// use the same deductible, cap or account balance. The batch's settlements with the social
// security card are decided together in memory and written with a few multi-row statements
// (batch.go); the others, and those if writing them together fails, one by one, each in its own
// savepoint (settlement.go). Both make the same settlements, entries, counters and audit entries
// (TestSettledTogetherAsAlone).
//
// Every settlement keeps its own audit entry, chained like any other, so audit verify covers each;
// audit.RecordMany appends a batch's entries with one read of the chain's head and one insert,
// which made a batch entry listing the settlements (and a second way of auditing) unnecessary.
// What is cached: approved institutions, for instTTL (an approved institution does not change
// today); the issuer keys, by the key service, for 30 s. The policy in force is read once per
// batch, not cached, so a newly approved version applies from the next batch with nothing to
// invalidate.
//
// This package must never post money outside the ledger, read a card's state outside the card
// service, or settle for a person of another region.
package settle

import (
	"context"
	"sync"
	"time"

	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/keys"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
)

// Service is the settlement capability.
type Service struct {
	db       *db.DB
	policies *policy.Store
	cards    *card.Service
	keys     *keys.Service
	reg      *registry.Service
	now      func() time.Time // the business clock: today's date for the date rules
	engine   *engine
	// failTogether, set by tests, fails the writing of card settlements together half-way.
	failTogether func() error

	mu    sync.Mutex
	insts map[string]cachedInstitution // approved institutions by code
}

// instTTL is how long an approved institution is kept for settling without reading it again. An
// approved institution does not change today (approval is the last step of its record); whatever
// later changes one (a suspension, a new level) must call forget, and another server process sees
// the change within the TTL.
const instTTL = 30 * time.Second

type cachedInstitution struct {
	inst  Institution
	until time.Time
}

func (s *Service) approved(code string) (Institution, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.insts[code]
	if !ok || !s.db.Now().Before(c.until) {
		return Institution{}, false
	}
	return c.inst, true
}

func (s *Service) keepApproved(inst Institution) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.insts[inst.Code] = cachedInstitution{inst: inst, until: s.db.Now().Add(instTTL)}
}

// forget drops an institution from the cache, for whatever changes it.
func (s *Service) forget(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.insts, code)
}

// Options adjust a Service.
type Options struct {
	// Now is the business clock; nil = the database's. The demo settles its past months with a
	// clock set back, as the registry's AsOf does.
	Now func() time.Time
	// MaxBatch bounds how many requests one transaction carries; 0 = 256.
	MaxBatch int
}

// New returns the settlement service and starts its writer; Close stops it.
func New(d *db.DB, p *policy.Store, c *card.Service, k *keys.Service, r *registry.Service, o Options) *Service {
	if o.Now == nil {
		o.Now = d.Now
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
	}
	s := &Service{db: d, policies: p, cards: c, keys: k, reg: r, now: o.Now, insts: map[string]cachedInstitution{}}
	s.engine = newEngine(d, o.MaxBatch, s.settleTogether)
	return s
}

// Close stops the writer after the requests it has taken.
func (s *Service) Close() { s.engine.close() }

// Stats are the writer's counters since start, for the benchmark.
func (s *Service) Stats() EngineStats { return s.engine.stats() }

// do runs fn through the writer and returns what it returned.
func (s *Service) do(ctx context.Context, fn func(ctx context.Context, tx *db.Tx) (any, error)) (any, error) {
	return s.engine.submit(newJob(ctx, fn, nil))
}
