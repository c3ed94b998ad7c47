package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/shebao/shebao/internal/certificate"
)

// runCertificate: `shebao certificate verify --public-key FILE.pem CERTIFICATE.pdf` checks a
// certificate offline: its signature over its data with the region's published signing key
// (GET /api/v1/regions/{region}/signing-key.pem?version=N, the version the certificate names).
// It needs no database and no network; whether the bureau's record agrees, and whether the
// certificate is still valid today, is what the verification page adds.
func runCertificate(ctx context.Context, io IO, args []string) error {
	if len(args) == 0 || args[0] != "verify" {
		return fmt.Errorf("%w: shebao certificate verify --public-key FILE.pem CERTIFICATE.pdf", errUsage)
	}
	fs := newFlags("certificate verify", io)
	keyFile := fs.String("public-key", "", "the region's signing public key (PEM), as the bureau publishes it")
	// The certificate's file is the one argument after the flags (parse allows none).
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *keyFile == "" || fs.NArg() != 1 {
		return fmt.Errorf("%w: shebao certificate verify --public-key FILE.pem CERTIFICATE.pdf", errUsage)
	}
	key, err := os.ReadFile(*keyFile)
	if err != nil {
		return err
	}
	file, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	d, err := certificate.VerifyWith(string(key), file)
	if err != nil {
		return fmt.Errorf("NOT GENUINE: %w", err)
	}
	subject := ""
	switch {
	case d.Person != nil:
		subject = d.Person.Name + " " + d.Person.IDMasked
	case d.Employer != nil:
		subject = d.Employer.Name + " " + d.Employer.USCC
	}
	fmt.Fprintf(io.Out, "genuine: certificate %s of %s, months %s–%s, issued %s by %s (signing key version %d), valid until %s\n",
		d.Serial, strings.TrimSpace(subject), d.From, d.To, d.IssuedOn, d.BureauZH, d.KeyVersion, d.ValidUntil)
	return nil
}
