package apdu

import (
	"errors"
	"fmt"
	"time"
)

// TransactionDataLen is the length of the data of GENERATE TRANSACTION CRYPTOGRAM: amount (6),
// date (4), institution (12), unpredictable number (4), settlement digest (32).
const TransactionDataLen = 6 + 4 + InstitutionCodeLen + 4 + 32

// InstitutionCodeLen is the length of a designated institution's code.
const InstitutionCodeLen = 12

// MaxTransactionAmount is the largest amount 12 BCD digits hold, in fen.
const MaxTransactionAmount int64 = 999_999_999_999

// TransactionData is what a card's transaction cryptogram binds: what is paid, to whom, on which
// day, the terminal's fresh random number, and the digest of the whole settlement (items and all),
// which this package treats as opaque bytes.
type TransactionData struct {
	Amount        int64     // fen, 0..MaxTransactionAmount
	Date          time.Time // the settlement's calendar date: midnight UTC, as period.Today gives
	Institution   string    // the institution's code, InstitutionCodeLen printable ASCII characters
	Unpredictable [4]byte   // the terminal's unpredictable number
	Digest        [32]byte  // SM3 of the settlement's canonical content
}

// Errors of TransactionData.Validate and ParseTransactionData; each names the field.
var (
	ErrTransactionAmount      = fmt.Errorf("apdu: transaction amount must be 0 to %d fen", MaxTransactionAmount)
	ErrTransactionDate        = errors.New("apdu: transaction date must be a calendar date (midnight UTC) of the years 0001-9999, not the zero time")
	ErrTransactionInstitution = fmt.Errorf("apdu: institution code must be %d printable ASCII characters", InstitutionCodeLen)
	// ErrTransactionData is for data that is not TransactionDataLen bytes or not BCD.
	ErrTransactionData = fmt.Errorf("apdu: transaction data must be %d bytes: amount and date in BCD, institution in ASCII, unpredictable number, digest", TransactionDataLen)
)

// Validate reports the first field that cannot be encoded.
func (d TransactionData) Validate() error {
	if d.Amount < 0 || d.Amount > MaxTransactionAmount {
		return fmt.Errorf("%w (got %d)", ErrTransactionAmount, d.Amount)
	}
	if err := checkTransactionDate(d.Date); err != nil {
		return err
	}
	if len(d.Institution) != InstitutionCodeLen || !printableASCII(d.Institution) {
		return fmt.Errorf("%w (got %q)", ErrTransactionInstitution, d.Institution)
	}
	return nil
}

// checkTransactionDate asks for a calendar date, not an instant: a time that is not midnight UTC
// would have a Beijing date other than its UTC date, and the card would bind the wrong day.
func checkTransactionDate(t time.Time) error {
	y, m, d := t.Date()
	if t.IsZero() || y < 1 || y > 9999 || !t.Equal(time.Date(y, m, d, 0, 0, 0, 0, time.UTC)) {
		return fmt.Errorf("%w (got %s)", ErrTransactionDate, t.Format(time.RFC3339Nano))
	}
	return nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7E {
			return false
		}
	}
	return true
}

// Encode writes the command data of GENERATE TRANSACTION CRYPTOGRAM: amount in fen (6 bytes BCD) ‖
// date YYYYMMDD (4 bytes BCD) ‖ institution code (12 bytes ASCII) ‖ unpredictable number (4) ‖
// digest (32). It refuses data that Validate refuses.
func (d TransactionData) Encode() ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, TransactionDataLen)
	amount, _ := packBCD(fmt.Sprintf("%012d", d.Amount))
	date, _ := packBCD(d.Date.Format("20060102"))
	b = append(b, amount...)
	b = append(b, date...)
	b = append(b, d.Institution...)
	b = append(b, d.Unpredictable[:]...)
	return append(b, d.Digest[:]...), nil
}

// ParseTransactionData reads what Encode writes; what it accepts encodes back to the same bytes.
// It never panics and does not share memory with b.
func ParseTransactionData(b []byte) (TransactionData, error) {
	if len(b) != TransactionDataLen {
		return TransactionData{}, fmt.Errorf("%w (got %d bytes)", ErrTransactionData, len(b))
	}
	amount, okA := unpackBCD(b[0:6])
	date, okD := unpackBCD(b[6:10])
	if !okA || !okD {
		return TransactionData{}, fmt.Errorf("%w (amount or date is not BCD)", ErrTransactionData)
	}
	var d TransactionData
	for _, c := range amount {
		d.Amount = d.Amount*10 + int64(c-'0')
	}
	t, err := time.Parse("20060102", date)
	if err != nil {
		return TransactionData{}, fmt.Errorf("%w (got %s)", ErrTransactionDate, date)
	}
	d.Date = t
	d.Institution = string(b[10:22])
	d.Unpredictable = [4]byte(b[22:26])
	d.Digest = [32]byte(b[26:58])
	if err := d.Validate(); err != nil {
		return TransactionData{}, err
	}
	return d, nil
}
