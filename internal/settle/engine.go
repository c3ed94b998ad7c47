package settle

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

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

type job struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *db.Tx) (any, error)
	done chan outcome
}

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

	batches, jobs atomic.Int64
	largest       atomic.Int64
}

// EngineStats count the writer's work.
type EngineStats struct {
	Batches, Jobs, LargestBatch int64
}

func newEngine(d *db.DB, maxBatch int) *engine {
	e := &engine{db: d, maxBatch: maxBatch, queue: make(chan *job, 4*maxBatch), stop: make(chan struct{}), stopped: make(chan struct{})}
	go e.run()
	return e
}

var errStopped = errs.E(errs.Unavailable, "the settlement service is stopping; try again")

func (e *engine) submit(ctx context.Context, fn func(ctx context.Context, tx *db.Tx) (any, error)) (any, error) {
	j := &job{ctx: ctx, fn: fn, done: make(chan outcome, 1)}
	select {
	case e.queue <- j:
	case <-e.stop:
		return nil, errStopped
	case <-ctx.Done():
		return nil, ctx.Err()
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
	return EngineStats{Batches: e.batches.Load(), Jobs: e.jobs.Load(), LargestBatch: e.largest.Load()}
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
	e.batches.Add(1)
	e.jobs.Add(int64(len(batch)))
	if n := int64(len(batch)); n > e.largest.Load() {
		e.largest.Store(n)
	}
	outs := make([]outcome, len(batch))
	err := e.db.Write(context.Background(), func(tx *db.Tx) error {
		clear(outs) // a retried transaction runs every request again
		for i, j := range batch {
			if err := j.ctx.Err(); err != nil {
				outs[i] = outcome{err: err}
				continue
			}
			outs[i] = e.runOne(j, tx)
			if outs[i].err != nil && errs.CodeOf(outs[i].err) == errs.Internal {
				// The transaction itself may be broken (a lost connection): the whole batch
				// fails, and db.Write retries it if the error says it may.
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
