package cli

import (
	"context"
	"crypto/rand"
	"fmt"
	"runtime"
	"time"

	"github.com/emmansun/gmsm/sm4"

	"github.com/shebao/shebao/internal/keys"
)

// benchKeys measures online card authentication on one core: for each verification the card key
// is diversified from the issuer key and the card's cryptogram checked, exactly as the key
// service's Verify does after its bookkeeping. The reference is raw SM4 block encryption with the
// same library on the same core; a verification costs two block encryptions and one key schedule,
// so about a third of the raw rate is the best to expect.
func benchKeys(ctx context.Context, io IO, args []string) error {
	fs := newFlags("bench keys", io)
	dur := fs.Duration("time", 3*time.Second, "how long to run each measurement")
	if err := parse(fs, args); err != nil {
		return err
	}
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	key := make([]byte, 16)
	_, _ = rand.Read(key)
	issuer, err := sm4.NewCipher(key)
	if err != nil {
		return err
	}
	// A population of cards and their genuine answers, prepared outside the timed loop.
	const cards = 1024
	ids, challenges, answers := make([][16]byte, cards), make([][16]byte, cards), make([][16]byte, cards)
	for i := range cards {
		_, _ = rand.Read(ids[i][:])
		_, _ = rand.Read(challenges[i][:])
		answers[i] = keys.CardAnswer(issuer, ids[i], challenges[i])
	}
	fmt.Fprintf(io.Out, "bench keys: one core, %v per measurement\n", *dur)

	n, bad := 0, 0
	start := time.Now()
	for time.Since(start) < *dur {
		for i := range 256 {
			j := (n + i) % cards
			if !keys.VerifyCardAnswer(issuer, ids[j], challenges[j], answers[j]) {
				bad++
			}
		}
		n += 256
	}
	verify := float64(n) / time.Since(start).Seconds()
	if bad > 0 {
		return fmt.Errorf("%d genuine answers failed to verify", bad)
	}

	var blk [16]byte
	m := 0
	start = time.Now()
	for time.Since(start) < *dur {
		for range 1024 {
			issuer.Encrypt(blk[:], blk[:])
		}
		m += 1024
	}
	raw := float64(m) / time.Since(start).Seconds()
	ratio := verify / raw
	fmt.Fprintf(io.Out, "  verifications (diversify + check): %.0f/s\n  raw SM4 block encryptions:         %.0f/s\n  ratio: %.3f (a verification is 2 encryptions and a key schedule)\n", verify, raw, ratio)
	jsonLine(io.Out, map[string]any{"bench": "keys", "verifications_per_s": int(verify), "reference_per_s": int(raw), "ratio": round3(ratio), "cores": 1})
	return nil
}
