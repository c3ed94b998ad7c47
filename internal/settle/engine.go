package settle

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
)

// The writer: group commit for durable settlements.
//
// A settlement must be on disk before it is answered (SQLite synchronous=FULL, PostgreSQL's
// default commit), and one fsync costs about a tenth of a millisecond on this kind of machine, so
// one transaction per request tops out near 10,000 a second before any work is done. The writer
// therefore takes every request waiting (up to maxBatch), runs each in a savepoint of one
// transaction — a request that fails is rolled back to its savepoint and answered with its own
// error, the others go on — commits once, and answers each after the commit. Under no load a batch
// is one request; under load batches grow by themselves, as the queue fills while the previous
// batch commits. Being the only writer of settlements in the process, it also serialises
// everything that reads and moves a person's counters and account; on PostgreSQL the rows are
// also locked in the transaction, for other processes.
//
// Settlements with the social security card, the bulk of the traffic, go further (batch.go): the
// batch's card settlements are decided together in memory from a few reads and written with a few
// statements, in one savepoint, instead of some twenty statements each. A request the batch
// refuses is answered with its own error and writes nothing. If writing them together fails, the
// savepoint is undone and each is carried out alone, as any other request, so a failure there
// costs time, never correctness. A request that the batch cannot decide in memory (its idempotency
// key is another request's of the same batch) is carried out alone after the others.
type job struct {
	ctx context.Context
	fn  func(ctx context.Context, tx *db.Tx) (any, error)
	// together, when set, lets the request be carried out with the batch's others of its kind
	// (bulk); fn remains how it is carried out alone.
	together any
	done     chan outcome
}

// bulkFunc carries out requests together in tx: an outcome for each, or alone[i] to have request i
// carried out alone afterwards; an error undoes them all, and each is then carried out alone.
type bulkFunc func(tx *db.Tx, jobs []*job) (outs []outcome, alone []bool, err error)

type outcome struct {
	v   any
	err error
}

type engine struct {
	db       *db.DB
	maxBatch int
	queue    chan *job
	stop     chan struct{}
	stopped  chan struct{}
	once     sync.Once
	bulk     bulkFunc // nil: every request alone

	batches, jobs atomic.Int64
	largest       atomic.Int64
	fallbacks     atomic.Int64 // batches whose requests together failed and went one by one
	busy          atomic.Int64 // nanoseconds spent carrying out batches, commits included
}

// EngineStats count the writer's work.
type EngineStats struct {
	Batches, Jobs, LargestBatch int64
	// Fallbacks counts the batches whose card settlements, written together, failed, and were
	// then carried out one by one.
	Fallbacks int64
	// Busy is the time spent carrying out batches, commits included: what is left of the
	// elapsed time the writer waited for requests.
	Busy time.Duration
}

func newEngine(d *db.DB, maxBatch int, bulk bulkFunc) *engine {
	e := &engine{db: d, maxBatch: maxBatch, queue: make(chan *job, 4*maxBatch), stop: make(chan struct{}), stopped: make(chan struct{}), bulk: bulk}
	go e.run()
	return e
}

var errStopped = errs.E(errs.Unavailable, "the settlement service is stopping; try again")

// newJob is a request for the writer: fn carries it out alone; together, if not nil, lets it be
// carried out with the batch's others (batch.go).
func newJob(ctx context.Context, fn func(ctx context.Context, tx *db.Tx) (any, error), together any) *job {
	return &job{ctx: ctx, fn: fn, together: together, done: make(chan outcome, 1)}
}

func (e *engine) submit(j *job) (any, error) {
	select {
	case e.queue <- j:
	case <-e.stop:
		return nil, errStopped
	case <-j.ctx.Done():
		return nil, j.ctx.Err()
	}
	// Once taken, a request is carried out whether or not its caller still waits: a retry with
	// the same idempotency key then gets what was done.
	select {
	case o := <-j.done:
		return o.v, o.err
	case <-e.stopped:
		select {
		case o := <-j.done:
			return o.v, o.err
		default:
			return nil, errStopped
		}
	}
}

func (e *engine) close() {
	e.once.Do(func() { close(e.stop) })
	<-e.stopped
}

func (e *engine) stats() EngineStats {
	return EngineStats{Batches: e.batches.Load(), Jobs: e.jobs.Load(), LargestBatch: e.largest.Load(), Fallbacks: e.fallbacks.Load(),
		Busy: time.Duration(e.busy.Load())}
}

func (e *engine) run() {
	defer close(e.stopped)
	batch := make([]*job, 0, e.maxBatch)
	for {
		batch = batch[:0]
		select {
		case j := <-e.queue:
			batch = append(batch, j)
		case <-e.stop:
			e.drain()
			return
		}
	more:
		for len(batch) < e.maxBatch {
			select {
			case j := <-e.queue:
				batch = append(batch, j)
			default:
				break more
			}
		}
		e.runBatch(batch)
	}
}

// drain answers what is still queued at shutdown.
func (e *engine) drain() {
	for {
		select {
		case j := <-e.queue:
			j.done <- outcome{err: errStopped}
		default:
			return
		}
	}
}

func (e *engine) runBatch(batch []*job) {
	start := time.Now() // wall time, for the statistics only
	defer func() { e.busy.Add(int64(time.Since(start))) }()
	e.batches.Add(1)
	e.jobs.Add(int64(len(batch)))
	if n := int64(len(batch)); n > e.largest.Load() {
		e.largest.Store(n)
	}
	outs := make([]outcome, len(batch))
	err := e.db.Write(context.Background(), func(tx *db.Tx) error {
		clear(outs) // a retried transaction runs every request again
		var together []int
		for i, j := range batch {
			if err := j.ctx.Err(); err != nil {
				outs[i] = outcome{err: err}
				continue
			}
			if j.together != nil && e.bulk != nil {
				together = append(together, i)
				continue
			}
			outs[i] = e.runOne(j, tx)
			if outs[i].err != nil && errs.CodeOf(outs[i].err) == errs.Internal {
				// The transaction itself may be broken (a lost connection): the whole batch
				// fails, and db.Write retries it if the error says it may.
				return outs[i].err
			}
		}
		alone, err := e.runTogether(tx, batch, together, outs)
		if err != nil {
			return err
		}
		for _, i := range alone {
			if outs[i] = e.runOne(batch[i], tx); outs[i].err != nil && errs.CodeOf(outs[i].err) == errs.Internal {
				return outs[i].err
			}
		}
		return nil
	})
	if err != nil {
		// The batch did not commit: nothing of it happened. A request whose own error broke the
		// transaction is tried alone, so the others are not answered with its error.
		if len(batch) > 1 {
			for _, j := range batch {
				e.runBatch([]*job{j})
			}
			return
		}
		for i := range outs {
			outs[i] = outcome{err: fmt.Errorf("settle: %w", err)}
		}
	}
	for i, j := range batch {
		j.done <- outs[i]
	}
}

// runTogether carries out the requests at idx together, in a savepoint, filling their outcomes;
// it returns those to carry out alone: those the bulk left, or all of them if it failed.
func (e *engine) runTogether(tx *db.Tx, batch []*job, idx []int, outs []outcome) (alone []int, err error) {
	if len(idx) == 0 {
		return nil, nil
	}
	ctx := context.Background() // the requests' own contexts end with their callers; the batch goes on
	if _, err := tx.ExecContext(ctx, "SAVEPOINT together"); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "savepoint")
	}
	jobs := make([]*job, len(idx))
	for k, i := range idx {
		jobs[k] = batch[i]
	}
	res, left, err := func() (res []outcome, left []bool, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return e.bulk(tx, jobs)
	}()
	if err != nil {
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT together"); rerr != nil {
			return nil, errs.Wrap(errs.Internal, rerr, "savepoint")
		}
		e.fallbacks.Add(1)
		alone = idx
	} else {
		for k, i := range idx {
			if left[k] {
				alone = append(alone, i)
			} else {
				outs[i] = res[k]
			}
		}
	}
	if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT together"); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "savepoint")
	}
	return alone, nil
}

// runOne carries out one request in a savepoint: its writes stay if it succeeds, and are undone,
// leaving the batch's others, if it fails.
func (e *engine) runOne(j *job, tx *db.Tx) (o outcome) {
	if _, err := tx.ExecContext(j.ctx, "SAVEPOINT one"); err != nil {
		return outcome{err: errs.Wrap(errs.Internal, err, "savepoint")}
	}
	defer func() {
		if r := recover(); r != nil {
			o = outcome{err: errs.Wrap(errs.Internal, fmt.Errorf("panic: %v", r), "internal error")}
		}
		stmt := "RELEASE SAVEPOINT one"
		if o.err != nil {
			stmt = "ROLLBACK TO SAVEPOINT one"
		}
		if _, err := tx.ExecContext(context.Background(), stmt); err != nil && o.err == nil {
			o = outcome{err: errs.Wrap(errs.Internal, err, "savepoint")}
		} else if o.err != nil && err == nil && stmt == "ROLLBACK TO SAVEPOINT one" {
			// ROLLBACK TO keeps the savepoint; release it so they do not pile up.
			_, _ = tx.ExecContext(context.Background(), "RELEASE SAVEPOINT one")
		}
	}()
	v, err := j.fn(j.ctx, tx)
	if err != nil {
		if _, ok := errs.As(err); !ok && !errors.Is(err, context.Canceled) {
			err = errs.Wrap(errs.Internal, err, "internal error")
		}
	}
	return outcome{v: v, err: err}
}
