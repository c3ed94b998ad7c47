// Package apdu speaks the ISO/IEC 7816-4 card protocol of the social security card's SSSE
// application (reference/domain-facts.md 1.1, 1.2, 2): command and response APDUs, a software card
// that behaves like a personalised chip, the two authentication cryptograms and the transaction
// cryptogram that binds a payment, the encoding of the
// issuer (EF05) and holder (EF06) records, and a terminal that drives any Card — the software card
// here, or a PC/SC reader elsewhere — through the reader procedures.
//
// It sits below the key service: the key service imports this package for the cryptogram formulas
// and the record layout, and this package must never import anything from shebao. It must never
// hold issuer or master keys, derive card keys, or decide whether a card is genuine: the
// SoftCard holds only its own, already diversified keys, and the Terminal asks a CardAuthenticator
// or ExternalAuthenticator (the key service) for every cryptographic judgement. It must never
// panic on bytes that come from outside — a command sent to the SoftCard, a response from a card, a
// saved card file — and never write a PIN in clear anywhere.
//
// # Protocol choices
//
// Only short APDUs are spoken (Lc ≤ 255, Le ≤ 256); extended length is refused by ParseCommand, and
// the SoftCard answers 6700 to it as to every other command ParseCommand refuses. The card checks a
// command in a fixed order, so that each error status word has one meaning: the APDU's shape
// (6700), class byte (6E00: CLA 00 for the ISO commands, 80 for CHANGE PIN, nothing else),
// instruction (6D00), P1/P2 (6A86), lengths (6700), the state of the card and session (6985, 6986,
// 6982, 6983), the data itself (6A80), and only then the outcome. The shebao choices where the
// domain facts are silent or where the SoftCard is simpler than a real chip are these:
//
//   - The FCI returned by SELECT is 6F L [84 0F <AID>] [A5 03 86 01 01]. Real cards put 86 01 xx
//     inside tag 9F0C; shebao puts it in the proprietary template A5 and defines algorithm id 01 as
//     SM4 (the meaning of the real values is unknown).
//   - Le absent means "up to 256 bytes": the SoftCard is an APDU-level card without T=0 GET
//     RESPONSE, so it answers its data directly. An Le smaller than the answer gets 6Cxx, xx being
//     the exact length (ISO 7816-4 "wrong Le field"); the card never returns more than Le bytes. Le
//     on a command that returns no data is ignored, since some T=1 readers append Le=00 to every
//     command. GET CHALLENGE is the exception: its Le must be 04 or 08.
//   - A record's value is at most 254 bytes, not 255, so that "tag len value" fits the 256-byte
//     short response. Tags 00 and FF are refused, as in ISO 7816-4 simple-TLV.
//   - SELECT accepts the SSSE AID exactly (no partial-AID selection), EF05/EF06 by file id with
//     P1=02 or P1=00, and the MF 3F00 with P1=00, which leaves the application. Selecting the
//     application or the MF starts a new session: no current EF, no challenge, not authenticated,
//     PIN not verified.
//   - Only an 8-byte challenge can be answered by EXTERNAL AUTHENTICATE, because the cryptogram is
//     defined over 8 bytes; a 4-byte challenge replaces any earlier one and EXTERNAL AUTHENTICATE
//     then answers 6985. The challenge is consumed by the next EXTERNAL AUTHENTICATE whatever
//     happens to it, so a challenge is never tried twice. A failed EXTERNAL AUTHENTICATE also ends
//     an earlier successful one. There is no error counter on the authentication key: a 128-bit
//     cryptogram cannot be guessed.
//   - VERIFY accepts only Lc=03, six packed BCD digits, the form SSSE readers send; the card's PIN is
//     always six digits, so other lengths get 6700 without using a try (ISO 9564 format-2 blocks are
//     not accepted). VERIFY without data (ISO case 1) asks for the state: 9000 if verified in this
//     session, 63Cx with the tries left, or 6983 if blocked. When the last try is used the answer is
//     6983, not 63C0, so a limit of 3 gives 63C2, 63C1, 6983.
//   - CHANGE PIN (80 5E 01 00) takes old ‖ FF ‖ new, each six packed BCD digits (Lc=07); a new PIN
//     that is not six digits gets 6A80 before the old PIN is checked, so it uses no try.
//   - GENERATE TRANSACTION CRYPTOGRAM (80 AE 80 00 3A data) is shebao's, after EMV's GENERATE AC
//     asking for an ARQC (docs/keys.md has the layout): it needs the PIN verified in this session
//     (6982), a transaction key (6985: a card made before them has none, all zeros) and a counter
//     below FFFF (6985; it never wraps); P1 other than 80 or P2 other than 00 is 6A86, data other
//     than 58 bytes 6700, an amount or date not BCD or a date that does not exist or an
//     institution code outside ASCII 20–7E 6A80. An Le below 0A gets 6C0A before the counter moves,
//     so no refusal ever uses up a counter value. The PIN stays verified for further cryptograms
//     in the same session, each with its own counter value, as VERIFY's state stays for other
//     commands.
//   - The SoftCard's application state (files, keys, PIN, transaction counter) persists through
//     Save and LoadSoftCard; its session state does not, as a card pulled out of a reader forgets
//     it. The saved PIN is SM3(salt ‖ PIN); six digits are easily found from that by trying all of
//     them, so the saved file is as secret as the keys it holds and must be stored like them.
//
// # Records
//
// EF05 and EF06 hold simple-TLV records read with READ RECORD 00 B2 <tag> 04. The layout follows the
// domain facts 1.2. Tag 20 of EF05 is shebao's own: the version of the issuer key from which the
// card's keys were diversified, so that the key service knows which key to use; a card without it
// (one not personalised by shebao) reads as key version 0. The ethnicity byte holds the GB 3304 code
// number in binary (01 Han … 56, 97, 98); whether real cards write it in BCD is not known. Names are
// GBK: 30 bytes in tag 09, and a name longer than 30 bytes goes on in tag 4E (20 bytes), split at
// byte 30 exactly — readers append 4E to 09 before decoding, so a character may straddle the two.
// Characters outside GBK cannot be written.
package apdu
