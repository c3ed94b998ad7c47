package keys

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm4"
	"github.com/emmansun/gmsm/smx509"

	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
)

// Key is a stored key's description. It never carries key material.
type Key struct {
	ID        int64
	Region    string
	Purpose   Purpose
	Version   int
	Algorithm string // "sm4" or "sm2"
	KCV       string // SM4 keys; "" for SM2
	Status    string // active, retired, destroyed
	PublicKey string // SM2: PEM of the public key
	CreatedAt time.Time
	ParentID  int64
}

// Ops lists what the key may be used for.
func (k Key) Ops() []Op { return allowed[k.Purpose] }

const keyColumns = "id, region, purpose, version, algorithm, kcv, status, public_key, created_at, COALESCE(parent_id, 0)"

func scanKey(row interface{ Scan(...any) error }, extra ...any) (Key, error) {
	var k Key
	var p, created string
	err := row.Scan(append([]any{&k.ID, &k.Region, &p, &k.Version, &k.Algorithm, &k.KCV, &k.Status, &k.PublicKey, &created, &k.ParentID}, extra...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return Key{}, errs.E(errs.NotFound, "no such key")
	}
	if err != nil {
		return Key{}, fmt.Errorf("keys: read key: %w", err)
	}
	k.Purpose = Purpose(p)
	k.CreatedAt, _ = db.ParseTime(created)
	return k, nil
}

// List returns the keys of a region (every region when region is ""), newest first.
func (s *Service) List(ctx context.Context, region string) ([]Key, error) {
	rows, err := s.db.R().QueryContext(ctx, "SELECT "+keyColumns+" FROM keys WHERE ($1 = '' OR region = $1) ORDER BY region, purpose, version DESC", region)
	if err != nil {
		return nil, fmt.Errorf("keys: list: %w", err)
	}
	return scanKeys(rows)
}

// KeyPos is where a key stands in a list: by region, purpose, then version newest first.
type KeyPos struct {
	Region  string // "": before every key
	Purpose Purpose
	Version int
}

// Pos is the key's place in a list, the cursor of the page it ends.
func (k Key) Pos() KeyPos { return KeyPos{Region: k.Region, Purpose: k.Purpose, Version: k.Version} }

// ListPage returns at most limit keys of the regions after the one at after, in List's order.
func (s *Service) ListPage(ctx context.Context, regions []string, after KeyPos, limit int) ([]Key, error) {
	if len(regions) == 0 {
		return nil, nil
	}
	args := []any{after.Region, string(after.Purpose), after.Version, limit}
	in := make([]string, 0, len(regions))
	for _, r := range regions {
		args = append(args, r)
		in = append(in, fmt.Sprintf("$%d", len(args)))
	}
	rows, err := s.db.R().QueryContext(ctx, "SELECT "+keyColumns+" FROM keys WHERE region IN ("+strings.Join(in, ", ")+`)
		AND ($1 = '' OR region > $1 OR region = $1 AND (purpose > $2 OR purpose = $2 AND version < $3))
		ORDER BY region, purpose, version DESC LIMIT $4`, args...)
	if err != nil {
		return nil, fmt.Errorf("keys: list: %w", err)
	}
	return scanKeys(rows)
}

func aadOf(region string, p Purpose, version int) string {
	return fmt.Sprintf("shebao|%s|%s|%d", region, p, version)
}

// masterCopy returns a copy of the master key, or ErrSealed. The caller zeroes it.
func (s *Service) masterCopy() ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.master == nil {
		return nil, ErrSealed
	}
	return append([]byte(nil), s.master...), nil
}

// kekPlain returns the region's key-encrypting key, creating it when create is set. The caller
// zeroes it.
func (s *Service) kekPlain(ctx context.Context, tx *db.Tx, region string, create bool) (int64, []byte, error) {
	master, err := s.masterCopy()
	if err != nil {
		return 0, nil, err
	}
	defer zero(master)
	var id int64
	var wrapped []byte
	err = tx.QueryRowContext(ctx, "SELECT id, wrapped FROM keys WHERE region = $1 AND purpose = 'kek' AND status = 'active' ORDER BY version DESC LIMIT 1", region).Scan(&id, &wrapped)
	if err == nil {
		plain, err := unwrap(master, wrapped, aadOf(region, KEK, 1))
		return id, plain, err
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, nil, err
	}
	if !create {
		return 0, nil, errs.E(errs.NotFound, "region %s has no keys yet", region)
	}
	plain := make([]byte, KeySize)
	if _, err := rand.Read(plain); err != nil {
		return 0, nil, err
	}
	w, err := wrap(master, plain, aadOf(region, KEK, 1))
	if err != nil {
		return 0, nil, err
	}
	kcv, _ := KCV(plain)
	if err := tx.QueryRowContext(ctx, `INSERT INTO keys(region, purpose, version, algorithm, kcv, wrapped, status, created_at)
		VALUES($1, 'kek', 1, 'sm4', $2, $3, 'active', $4) RETURNING id`, region, kcv, w, db.FormatTime(tx.Now)).Scan(&id); err != nil {
		return 0, nil, fmt.Errorf("keys: store KEK: %w", err)
	}
	return id, plain, nil
}

// storeKeySet generates a new version of every issuer key of region and stores it wrapped under
// the region's KEK; the previous versions become retired (still used for cards issued under them).
func (s *Service) storeKeySet(ctx context.Context, tx *db.Tx, region string, requestID int64) (int, error) {
	kekID, kek, err := s.kekPlain(ctx, tx, region, true)
	if err != nil {
		return 0, err
	}
	defer zero(kek)
	var version int
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) + 1 FROM keys WHERE region = $1 AND purpose = 'internal_auth'", region).Scan(&version); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE keys SET status = 'retired' WHERE region = $1 AND purpose <> 'kek' AND status = 'active'", region); err != nil {
		return 0, err
	}
	for _, p := range IssuerPurposes {
		var plain []byte
		alg, kcv, pub := "sm4", "", ""
		if p == Signing {
			priv, err := sm2.GenerateKey(rand.Reader)
			if err != nil {
				return 0, err
			}
			plain = priv.D.FillBytes(make([]byte, 32))
			der, err := smx509.MarshalPKIXPublicKey(&priv.PublicKey)
			if err != nil {
				return 0, err
			}
			alg, pub = "sm2", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		} else {
			plain = make([]byte, KeySize)
			if _, err := rand.Read(plain); err != nil {
				return 0, err
			}
			kcv, _ = KCV(plain)
		}
		w, err := wrap(kek, plain, aadOf(region, p, version))
		zero(plain)
		if err != nil {
			return 0, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO keys(region, purpose, version, algorithm, kcv, wrapped, parent_id, status, public_key, created_at, request_id)
			VALUES($1, $2, $3, $4, $5, $6, $7, 'active', $8, $9, $10)`, region, string(p), version, alg, kcv, w, kekID, pub, db.FormatTime(tx.Now), nullID(requestID)); err != nil {
			return 0, fmt.Errorf("keys: store %s key: %w", p, err)
		}
	}
	return version, nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// issuerKey finds the key of region, purpose and version (0 = the active one) and checks it may be
// used for op.
func (s *Service) issuerKey(ctx context.Context, r db.Reader, region string, p Purpose, version int, op Op) (Key, []byte, error) {
	if !Allows(p, op) {
		return Key{}, nil, refuse(p, op)
	}
	q := "SELECT " + keyColumns + ", wrapped FROM keys WHERE region = $1 AND purpose = $2 AND status = 'active' ORDER BY version DESC LIMIT 1"
	args := []any{region, string(p)}
	if version > 0 {
		q = "SELECT " + keyColumns + ", wrapped FROM keys WHERE region = $1 AND purpose = $2 AND version = $3"
		args = append(args, version)
	}
	var wrapped []byte
	k, err := scanKey(r.QueryRowContext(ctx, q, args...), &wrapped)
	if errs.Is(err, errs.NotFound) {
		return Key{}, nil, errs.E(errs.NotFound, "region %s has no %s key of version %d", region, p, version)
	}
	if err != nil {
		return Key{}, nil, err
	}
	if k.Status == "destroyed" {
		return Key{}, nil, errs.E(errs.Conflict, "the %s key version %d of region %s was destroyed", p, k.Version, region)
	}
	return k, wrapped, nil
}

// block returns the SM4 cipher of an issuer key, unwrapping it on first use. Unwrapped keys stay
// in memory until the service is sealed.
func (s *Service) block(ctx context.Context, region string, p Purpose, version int, op Op) (cipher.Block, Key, error) {
	return s.blockIn(ctx, nil, region, p, version, op)
}

// blockIn is block reading through tx when it is not nil: a caller's transaction must not wait for
// a second connection of the pool it already holds one of (on PostgreSQL, many such transactions
// at once would each hold one and wait for another).
func (s *Service) blockIn(ctx context.Context, tx *db.Tx, region string, p Purpose, version int, op Op) (cipher.Block, Key, error) {
	if s.Sealed() {
		return nil, Key{}, ErrSealed
	}
	var r db.Reader = s.db.R()
	if tx != nil {
		r = tx
	}
	k, wrapped, err := s.issuerKey(ctx, r, region, p, version, op)
	if err != nil {
		return nil, Key{}, err
	}
	s.mu.RLock()
	c, ok := s.sm4s[k.ID]
	s.mu.RUnlock()
	if ok {
		return c, k, nil
	}
	var plain []byte
	if tx != nil {
		plain, err = s.unwrapIssuerTx(ctx, tx, k, wrapped)
	} else {
		plain, err = s.unwrapIssuer(ctx, k, wrapped)
	}
	if err != nil {
		return nil, Key{}, err
	}
	defer zero(plain)
	c, err = sm4.NewCipher(plain)
	if err != nil {
		return nil, Key{}, err
	}
	s.mu.Lock()
	s.sm4s[k.ID] = c
	s.mu.Unlock()
	return c, k, nil
}

// unwrapIssuer unwraps an issuer key through the region's KEK. The caller zeroes the result.
func (s *Service) unwrapIssuer(ctx context.Context, k Key, wrapped []byte) ([]byte, error) {
	var plain []byte
	err := s.db.Read(ctx, func(tx *db.Tx) (err error) {
		plain, err = s.unwrapIssuerTx(ctx, tx, k, wrapped)
		return err
	})
	return plain, err
}

// signer returns the SM2 private key of a region's signing key.
func (s *Service) signer(ctx context.Context, region string, version int) (*sm2.PrivateKey, Key, error) {
	if s.Sealed() {
		return nil, Key{}, ErrSealed
	}
	k, wrapped, err := s.issuerKey(ctx, s.db.R(), region, Signing, version, OpSign)
	if err != nil {
		return nil, Key{}, err
	}
	s.mu.RLock()
	priv, ok := s.sm2s[k.ID]
	s.mu.RUnlock()
	if ok {
		return priv, k, nil
	}
	plain, err := s.unwrapIssuer(ctx, k, wrapped)
	if err != nil {
		return nil, Key{}, err
	}
	defer zero(plain)
	priv, err = sm2.NewPrivateKey(plain)
	if err != nil {
		return nil, Key{}, err
	}
	s.mu.Lock()
	s.sm2s[k.ID] = priv
	s.mu.Unlock()
	return priv, k, nil
}

// scanKeys reads every key of rows, and closes them.
func scanKeys(rows *sql.Rows) ([]Key, error) {
	defer rows.Close()
	var out []Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}
