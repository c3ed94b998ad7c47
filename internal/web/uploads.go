package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/shebao/shebao/internal/errs"
)

// Every uploaded file is read whole into memory: the tables (staff files, card application files,
// manufacturers' result files) are also checked whole and applied whole, and one of them costs up
// to a few hundred megabytes at the limits package sheet and its callers set (docs/decisions.md,
// "What an upload may cost"); a material or a photo costs a few times its size (at most 50 and
// 20 MiB). So the server takes in at most uploadSlots files at once: all uploads together cost at
// most that many times the costliest. A request over the limit waits for a slot up to uploadWait,
// its body unread (so waiting costs a connection, not a file in memory), then is answered 503 with
// Retry-After.
//
// Two slots because reading a table is CPU work: on the two cores the server is sized for, a
// third would only slow the other two down. The wait is about what the largest real file takes to
// read and apply (100,000 rows: some 10 s), so that a third upload arriving as two end goes
// through. Once it has a slot, an upload has uploadTime to be read, checked and applied: the largest
// file takes some 50 s on two busy cores, near the 60 s the server gives other requests.
const (
	uploadSlots = 2
	uploadWait  = 10 * time.Second
	uploadTime  = 3 * time.Minute // to read, check and apply a file once it has a slot
)

// errUploadsBusy is the cause of the answer to an upload that found no slot in time.
var errUploadsBusy = errors.New("every upload slot is taken")

// uploadGate hands out the upload slots.
type uploadGate struct {
	slots chan struct{}
	wait  time.Duration
}

func newUploadGate(slots int, wait time.Duration) *uploadGate {
	return &uploadGate{slots: make(chan struct{}, slots), wait: wait}
}

// enter waits for a slot and returns the function that gives it back. Call it before reading the
// request body.
func (g *uploadGate) enter(ctx context.Context) (release func(), err error) {
	select {
	case g.slots <- struct{}{}:
		return func() { <-g.slots }, nil
	default:
	}
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return func() { <-g.slots }, nil
	case <-t.C:
	case <-ctx.Done():
	}
	return nil, &errs.Error{Code: errs.Unavailable, Err: errUploadsBusy,
		Message: "the server is reading other uploaded files; send this file again in a few seconds",
		Fields:  map[string]string{"file": "not read: the server is busy with other uploads"}}
}

// enterUpload takes an upload slot for the request (see uploadGate.enter) and gives it the time a
// large file takes: the server's deadlines for reading the request and writing the answer (60 s
// from the start) are moved to uploadTime from now.
func (s *Server) enterUpload(w http.ResponseWriter, r *http.Request) (release func(), err error) {
	release, err = s.uploads.enter(r.Context())
	if err != nil {
		return nil, err
	}
	rc := http.NewResponseController(w)
	deadline := time.Now().Add(uploadTime)
	_ = rc.SetReadDeadline(deadline) // not every ResponseWriter has deadlines (httptest's has none)
	_ = rc.SetWriteDeadline(deadline)
	return release, nil
}

// readAllSized reads r to its end into one buffer of the size announced (a Content-Length, a form
// file's size), when that is within max: io.ReadAll would grow its buffer by doubling, holding up
// to twice the file and leaving as much again as garbage. A size that lies costs only the growing
// io.ReadAll would have done.
func readAllSized(r io.Reader, size, max int64) ([]byte, error) {
	var buf bytes.Buffer
	if size > 0 && size <= max {
		buf.Grow(int(size) + bytes.MinRead) // MinRead: room to see the end without growing
	}
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}

// retryAfter tells the client of a busy answer when to try again: after about one upload's
// time.
func (g *uploadGate) retryAfter(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(int(g.wait/time.Second)))
}
