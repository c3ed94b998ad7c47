package apdu

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Record tags of EF05 (issuer data) and EF06 (holder data), domain facts 1.2. TagKeyVersion is
// shebao's own.
const (
	TagCardID     byte = 0x01 // 卡识别码, 16 bytes
	TagCardType   byte = 0x02 // 卡类别, 1 byte
	TagVersion    byte = 0x03 // 规范版本, 4 ASCII
	TagIssueDate  byte = 0x05 // 发卡日期, BCD YYYYMMDD
	TagExpiryDate byte = 0x06 // 卡有效期, BCD YYYYMMDD
	TagCardNumber byte = 0x07 // 卡号, 9 characters
	TagKeyVersion byte = 0x20 // issuer key version the card keys were diversified from

	TagIDNumber   byte = 0x08 // 社会保障号码, 18 characters
	TagName       byte = 0x09 // 姓名, 30 bytes GBK
	TagGender     byte = 0x0A // 性别
	TagEthnicity  byte = 0x0B // 民族
	TagBirthPlace byte = 0x0C // 出生地, 3 bytes BCD
	TagBirthDate  byte = 0x0D // 出生日期, BCD YYYYMMDD
	TagNameExt    byte = 0x4E // 姓名扩展, 20 bytes GBK, continues tag 09
)

const (
	nameLen    = 30
	nameExtLen = 20
	// MaxNameBytes is the longest name a card holds: 09 and 4E together, in GBK bytes.
	MaxNameBytes = nameLen + nameExtLen
)

// IssuerData is the content of EF05 (发卡机构数据).
type IssuerData struct {
	CardID     [16]byte  // tag 01, 卡识别码
	CardType   byte      // tag 02, 卡类别
	Version    string    // tag 03, 规范版本: 4 ASCII characters, e.g. "3.00"
	IssueDate  time.Time // tag 05, 发卡日期 (only the date counts)
	ExpiryDate time.Time // tag 06, 卡有效期 (only the date counts)
	CardNumber string    // tag 07, 卡号: 9 digits or capital letters
	// KeyVersion is tag 20, shebao's own: the version of the issuer key the card's keys were
	// diversified from, so that the key service can authenticate cards made before a key change.
	// 0 when the card has no tag 20.
	KeyVersion byte
}

// HolderData is the content of EF06 (持卡人基本信息).
type HolderData struct {
	IDNumber string // tag 08, 社会保障号码 = the citizen ID number: 18 digits or capital letters
	Name     string // tags 09 and 4E, 姓名: at most MaxNameBytes bytes in GBK
	// Gender is tag 0A, a GB/T 2261.1 code: '1' male, '2' female; '0' (unknown) and '9' (not
	// stated) are accepted too.
	Gender byte
	// Ethnicity is tag 0B, the GB 3304 code number in binary: 1 Han … 56, 97 other, 98 foreign
	// origin.
	Ethnicity byte
	// BirthPlace is tag 0C, 3 bytes BCD: the first 6 digits of the ID number. All zero means
	// absent; the record is then not written.
	BirthPlace [3]byte
	BirthDate  time.Time // tag 0D, 出生日期 (only the date counts)
}

// Validate checks that d can be written to a card and read back unchanged.
func (d IssuerData) Validate() error {
	if err := checkASCII(d.Version, 4); err != nil {
		return fmt.Errorf("apdu: issuer data: version: %w", err)
	}
	if err := checkDate(d.IssueDate); err != nil {
		return fmt.Errorf("apdu: issuer data: issue date: %w", err)
	}
	if err := checkDate(d.ExpiryDate); err != nil {
		return fmt.Errorf("apdu: issuer data: expiry date: %w", err)
	}
	if err := checkAlnum(d.CardNumber, 9); err != nil {
		return fmt.Errorf("apdu: issuer data: card number: %w", err)
	}
	return nil
}

// Records encodes d as the records of EF05, in tag order. It does not check d (the signature has no
// error, to match how personalisation uses it): call Validate first. Invalid fields are written as
// they are, and a missing date as 00000000; ParseIssuerData refuses these, except a card number
// longer than 9, of which it reads the first 9 characters.
func (d IssuerData) Records() []Record {
	return []Record{
		{TagCardID, bytes.Clone(d.CardID[:])},
		{TagCardType, []byte{d.CardType}},
		{TagVersion, []byte(d.Version)},
		{TagIssueDate, dateBCD(d.IssueDate)},
		{TagExpiryDate, dateBCD(d.ExpiryDate)},
		{TagCardNumber, []byte(d.CardNumber)},
		{TagKeyVersion, []byte{d.KeyVersion}},
	}
}

// ParseIssuerData decodes the records of EF05. Tags 01, 02, 03, 05, 06 and 07 are required; tag
// 20 is optional; tags it does not know (04, 初始化机构编号, on real cards) are ignored. Only the
// first 9 characters of the card number are read, as the MOHRSS reader procedure says.
func ParseIssuerData(records []Record) (IssuerData, error) {
	var d IssuerData
	m, err := recordMap(records, TagCardID, TagCardType, TagVersion, TagIssueDate, TagExpiryDate, TagCardNumber)
	if err != nil {
		return IssuerData{}, fmt.Errorf("apdu: issuer data: %w", err)
	}
	fail := func(tag byte, err error) (IssuerData, error) {
		return IssuerData{}, fmt.Errorf("apdu: issuer data: tag %02X: %w", tag, err)
	}
	if v := m[TagCardID]; len(v) != 16 {
		return fail(TagCardID, fmt.Errorf("%d bytes, want 16", len(v)))
	}
	d.CardID = [16]byte(m[TagCardID])
	if v := m[TagCardType]; len(v) != 1 {
		return fail(TagCardType, fmt.Errorf("%d bytes, want 1", len(v)))
	}
	d.CardType = m[TagCardType][0]
	d.Version = string(m[TagVersion])
	if err := checkASCII(d.Version, 4); err != nil {
		return fail(TagVersion, err)
	}
	if d.IssueDate, err = parseDateBCD(m[TagIssueDate]); err != nil {
		return fail(TagIssueDate, err)
	}
	if d.ExpiryDate, err = parseDateBCD(m[TagExpiryDate]); err != nil {
		return fail(TagExpiryDate, err)
	}
	cn := m[TagCardNumber]
	if len(cn) > 9 {
		cn = cn[:9]
	}
	d.CardNumber = string(cn)
	if err := checkAlnum(d.CardNumber, 9); err != nil {
		return fail(TagCardNumber, err)
	}
	if v, ok := m[TagKeyVersion]; ok {
		if len(v) != 1 {
			return fail(TagKeyVersion, fmt.Errorf("%d bytes, want 1", len(v)))
		}
		d.KeyVersion = v[0]
	}
	return d, nil
}

// Records checks d and encodes it as the records of EF06, in tag order. A name longer than 30 GBK
// bytes is split at byte 30 and continues in tag 4E; each part is padded with spaces.
func (d HolderData) Records() ([]Record, error) {
	if err := checkAlnum(d.IDNumber, 18); err != nil {
		return nil, fmt.Errorf("apdu: holder data: ID number: %w", err)
	}
	name, err := encodeName(d.Name)
	if err != nil {
		return nil, fmt.Errorf("apdu: holder data: name: %w", err)
	}
	if err := checkGender(d.Gender); err != nil {
		return nil, fmt.Errorf("apdu: holder data: %w", err)
	}
	if err := checkEthnicity(d.Ethnicity); err != nil {
		return nil, fmt.Errorf("apdu: holder data: %w", err)
	}
	if _, ok := unpackBCD(d.BirthPlace[:]); !ok {
		return nil, fmt.Errorf("apdu: holder data: birth place % X is not BCD", d.BirthPlace)
	}
	if err := checkDate(d.BirthDate); err != nil {
		return nil, fmt.Errorf("apdu: holder data: birth date: %w", err)
	}

	rs := []Record{
		{TagIDNumber, []byte(d.IDNumber)},
		{TagName, padSpaces(name[:min(len(name), nameLen)], nameLen)},
		{TagGender, []byte{d.Gender}},
		{TagEthnicity, []byte{d.Ethnicity}},
	}
	if d.BirthPlace != [3]byte{} {
		rs = append(rs, Record{TagBirthPlace, bytes.Clone(d.BirthPlace[:])})
	}
	rs = append(rs, Record{TagBirthDate, dateBCD(d.BirthDate)})
	if len(name) > nameLen {
		rs = append(rs, Record{TagNameExt, padSpaces(name[nameLen:], nameExtLen)})
	}
	return rs, nil
}

// ParseHolderData decodes the records of EF06. Tags 08, 09, 0A, 0B and 0D are required; 0C and 4E
// are optional; unknown tags are ignored. The name is 09 ‖ 4E with trailing spaces (and the 00 or
// FF some issuers pad with) removed, decoded from GBK.
func ParseHolderData(records []Record) (HolderData, error) {
	var d HolderData
	m, err := recordMap(records, TagIDNumber, TagName, TagGender, TagEthnicity, TagBirthDate)
	if err != nil {
		return HolderData{}, fmt.Errorf("apdu: holder data: %w", err)
	}
	fail := func(tag byte, err error) (HolderData, error) {
		return HolderData{}, fmt.Errorf("apdu: holder data: tag %02X: %w", tag, err)
	}
	d.IDNumber = string(m[TagIDNumber])
	if err := checkAlnum(d.IDNumber, 18); err != nil {
		return fail(TagIDNumber, err)
	}
	if d.Name, err = decodeName(m[TagName], m[TagNameExt]); err != nil {
		return fail(TagName, err)
	}
	if v := m[TagGender]; len(v) != 1 || checkGender(v[0]) != nil {
		return fail(TagGender, fmt.Errorf("% X is not a gender code", v))
	}
	d.Gender = m[TagGender][0]
	if v := m[TagEthnicity]; len(v) != 1 || checkEthnicity(v[0]) != nil {
		return fail(TagEthnicity, fmt.Errorf("% X is not a GB 3304 code", v))
	}
	d.Ethnicity = m[TagEthnicity][0]
	if v, ok := m[TagBirthPlace]; ok {
		if _, isBCD := unpackBCD(v); len(v) != 3 || !isBCD {
			return fail(TagBirthPlace, fmt.Errorf("% X is not 3 bytes BCD", v))
		}
		d.BirthPlace = [3]byte(v)
	}
	if d.BirthDate, err = parseDateBCD(m[TagBirthDate]); err != nil {
		return fail(TagBirthDate, err)
	}
	return d, nil
}

// ParseCardID reads a card identification code written as 32 hex digits, either case.
func ParseCardID(hex32 string) ([16]byte, error) {
	if len(hex32) != 32 {
		return [16]byte{}, fmt.Errorf("apdu: card id: %d characters, want 32 hex digits", len(hex32))
	}
	b, err := hex.DecodeString(hex32)
	if err != nil {
		return [16]byte{}, errors.New("apdu: card id: not hex")
	}
	return [16]byte(b), nil
}

// FormatCardID writes a card identification code as 32 upper-case hex digits, as it is shown.
func FormatCardID(id [16]byte) string {
	return strings.ToUpper(hex.EncodeToString(id[:]))
}

// recordMap indexes records by tag, refusing a tag given twice and a required tag that is missing.
func recordMap(records []Record, required ...byte) (map[byte][]byte, error) {
	m := make(map[byte][]byte, len(records))
	for _, r := range records {
		if _, dup := m[r.Tag]; dup {
			return nil, fmt.Errorf("tag %02X appears twice", r.Tag)
		}
		m[r.Tag] = r.Value
	}
	for _, t := range required {
		if _, ok := m[t]; !ok {
			return nil, fmt.Errorf("tag %02X is missing", t)
		}
	}
	return m, nil
}

func checkASCII(s string, n int) error {
	if len(s) != n {
		return fmt.Errorf("%d bytes, want %d", len(s), n)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7E {
			return fmt.Errorf("byte %d is not printable ASCII", i+1)
		}
	}
	return nil
}

func checkAlnum(s string, n int) error {
	if len(s) != n {
		return fmt.Errorf("%d bytes, want %d", len(s), n)
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && (s[i] < 'A' || s[i] > 'Z') {
			return fmt.Errorf("character %d is not a digit or capital letter", i+1)
		}
	}
	return nil
}

func checkGender(g byte) error {
	switch g {
	case '0', '1', '2', '9':
		return nil
	}
	return fmt.Errorf("gender %02X, want a GB/T 2261.1 code '0', '1', '2' or '9'", g)
}

func checkEthnicity(e byte) error {
	if (e >= 1 && e <= 56) || e == 97 || e == 98 {
		return nil
	}
	return fmt.Errorf("ethnicity %d, want a GB 3304 code 1..56, 97 or 98", e)
}

// checkDate asks for a date the 4-digit BCD year can hold.
func checkDate(t time.Time) error {
	if y := t.Year(); t.IsZero() || y < 1 || y > 9999 {
		return errors.New("date missing or outside years 1..9999")
	}
	return nil
}

func dateBCD(t time.Time) []byte {
	if t.IsZero() {
		return make([]byte, 4) // 00000000, which parseDateBCD refuses
	}
	y, m, d := t.Date()
	b, ok := packBCD(fmt.Sprintf("%04d%02d%02d", y, int(m), d))
	if !ok {
		// A year outside 0..9999 (which Validate refuses) is written as zeros, which no parser
		// accepts, rather than as a wrong but valid date.
		return make([]byte, 4)
	}
	return b
}

func parseDateBCD(b []byte) (time.Time, error) {
	if len(b) != 4 {
		return time.Time{}, fmt.Errorf("date of %d bytes, want 4 BCD", len(b))
	}
	s, ok := unpackBCD(b)
	if !ok {
		return time.Time{}, fmt.Errorf("date % X is not BCD", b)
	}
	t, err := time.Parse("20060102", s)
	if err != nil || t.Year() < 1 {
		return time.Time{}, fmt.Errorf("date %s is not a calendar date", s)
	}
	return t, nil // time.Parse gives midnight UTC, the date convention of shebao
}

var gbk = simplifiedchinese.GBK

// encodeName checks a name and returns its GBK bytes. The name must read back exactly: no
// surrounding spaces (padding is trimmed on reading), no control characters, only characters GBK
// has, and at most MaxNameBytes bytes.
func encodeName(name string) ([]byte, error) {
	if name == "" {
		return nil, errors.New("empty")
	}
	if strings.TrimSpace(name) != name {
		return nil, errors.New("begins or ends with a space")
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return nil, errors.New("has a control character")
		}
	}
	b, err := gbk.NewEncoder().Bytes([]byte(name))
	if err != nil {
		return nil, errors.New("has a character GBK cannot write")
	}
	if len(b) > MaxNameBytes {
		return nil, fmt.Errorf("%d bytes in GBK, at most %d fit the card", len(b), MaxNameBytes)
	}
	if back, err := gbk.NewDecoder().Bytes(b); err != nil || string(back) != name {
		return nil, errors.New("does not read back the same from GBK")
	}
	return b, nil
}

func decodeName(main, ext []byte) (string, error) {
	if len(main) > nameLen || len(ext) > nameExtLen {
		return "", fmt.Errorf("name records of %d and %d bytes, at most %d and %d", len(main), len(ext), nameLen, nameExtLen)
	}
	b := append(bytes.Clone(main), ext...)
	// Byte by byte: bytes.TrimRight would read the GBK bytes as UTF-8 and take a broken character
	// for the "\xFF" in its cut set.
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == 0x00 || b[len(b)-1] == 0xFF) {
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return "", errors.New("name is empty")
	}
	s, err := gbk.NewDecoder().Bytes(b)
	if err != nil {
		return "", errors.New("name is not GBK")
	}
	for _, r := range string(s) {
		if r == unicode.ReplacementChar || unicode.IsControl(r) {
			return "", errors.New("name is not GBK text")
		}
	}
	return string(s), nil
}

func padSpaces(b []byte, n int) []byte {
	out := bytes.Repeat([]byte{' '}, n)
	copy(out, b)
	return out
}
