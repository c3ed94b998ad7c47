package keys

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/pem"
	"errors"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/shebao/shebao/internal/errs"
)

// signerID is the SM2 user identity (the "ID" of GB/T 32918.2 hashed into Z_A) of every shebao
// signature. Verifiers must use the same.
var signerID = []byte("shebao")

// SignerID is the SM2 user ID verifiers must use.
func SignerID() []byte { return append([]byte(nil), signerID...) }

// Sign signs msg with the region's active SM2 signing key and says which key version signed it.
func (s *Service) Sign(ctx context.Context, region string, msg []byte) (sig []byte, version int, err error) {
	priv, k, err := s.signer(ctx, region, 0)
	if err != nil {
		return nil, 0, err
	}
	sig, err = priv.SignWithSM2(rand.Reader, signerID, msg)
	return sig, k.Version, err
}

// PublicKeyPEM returns the public key of the region's signing key of a version (0 = active).
// Verification needs nothing else, so this works while the service is sealed.
func (s *Service) PublicKeyPEM(ctx context.Context, region string, version int) (string, int, error) {
	k, _, err := s.issuerKey(ctx, s.db.R(), region, Signing, version, OpSign)
	if err != nil {
		return "", 0, err
	}
	return k.PublicKey, k.Version, nil
}

// Verify checks a signature with only the public key.
func Verify(publicKeyPEM string, msg, sig []byte) error {
	b, _ := pem.Decode([]byte(publicKeyPEM))
	if b == nil {
		return errors.New("keys: not a PEM public key")
	}
	k, err := smx509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return err
	}
	ecdsaPub, ok := k.(*ecdsa.PublicKey)
	if !ok || !sm2.IsSM2PublicKey(ecdsaPub) {
		return errors.New("keys: not an SM2 public key")
	}
	if !sm2.VerifyASN1WithSM2(ecdsaPub, signerID, msg, sig) {
		return errs.E(errs.Invalid, "the signature does not match")
	}
	return nil
}
