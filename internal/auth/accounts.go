package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/notify"
)

// Accounts that no one person controls (docs/security.md).
//
// An account made in the portal or the API is tied to the account that made it: whoever made it
// chose whose phone gets its code, so until someone independent vouches for it, the two count as
// one person. A staff account is vouched for by a second administrator, independent of its
// creator, before it can be used; then it stands on its own. Two accounts are independent when no
// account is in both their chains (an account, and while nobody vouched for it its creator, and so
// on up to the console). Every approval — key requests, policy versions, enrolments, cards,
// accounts — counts only from an account independent of everyone who prepared the thing.

// State is where an account stands.
type State string

const (
	// Pending: a staff account made in the portal, waiting for a second administrator (and, for a
	// custodian, existing custodians) to approve it.
	Pending State = "pending"
	// Invited: waiting for its holder to set a password with the one-time code sent to their phone.
	Invited State = "invited"
	// Active: in use.
	Active State = "active"
)

// CustodianApprovals is how many existing custodians, independent of each other and of whoever
// asked, must approve a new custodian made in the portal: the same two that dual control of a key
// needs. The first custodians come from the key ceremony at the console (shebao keys init).
const CustodianApprovals = 2

// ActivationValidity is how long a one-time activation code works.
const ActivationValidity = 24 * time.Hour

// maxChain bounds the walk up an account's creators; chains are short (a clerk made by an
// administrator made at the console), so a longer one means a loop in corrupt data.
const maxChain = 16

// chain is the account and, while no second administrator vouched for it, the accounts that
// created it. A name that is no account (the console, "system") is a chain of itself.
func chain(ctx context.Context, r db.Reader, username string) ([]string, error) {
	out := []string{username}
	for len(out) < maxChain {
		var createdBy, approvedBy string
		err := r.QueryRowContext(ctx, "SELECT created_by, approved_by FROM users WHERE username = $1", out[len(out)-1]).Scan(&createdBy, &approvedBy)
		if errors.Is(err, sql.ErrNoRows) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("auth: independence: %w", err)
		}
		if createdBy == "" || approvedBy != "" || slices.Contains(out, createdBy) {
			return out, nil
		}
		out = append(out, createdBy)
	}
	return out, nil
}

// Independent checks that approver is independent of every one of others (the requester, the
// preparer, other approvers): no account is in both chains. Empty names are skipped. The error
// is Forbidden and says which account ties them.
func Independent(ctx context.Context, r db.Reader, approver string, others ...string) error {
	mine, err := chain(ctx, r, approver)
	if err != nil {
		return err
	}
	for _, o := range others {
		if o == "" {
			continue
		}
		if o == approver {
			return errs.E(errs.Forbidden, "you took part in this yourself (%s); someone independent of you must approve it", maskName(o))
		}
		theirs, err := chain(ctx, r, o)
		if err != nil {
			return err
		}
		for _, a := range mine {
			if slices.Contains(theirs, a) {
				return errs.E(errs.Forbidden, "your account and %s both stand on the account %s, so they count as one person; someone independent must approve this",
					maskName(o), maskName(a))
			}
		}
	}
	return nil
}

// maskName shows an account name in a message; resident logins are ID numbers, shown masked.
func maskName(name string) string {
	if len(name) == 18 && strings.IndexFunc(name[:17], func(r rune) bool { return r < '0' || r > '9' }) < 0 {
		return name[:4] + "**********" + name[14:]
	}
	return name
}

// newCode is an 8-digit one-time code.
func newCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf("%08d", n.Int64())
}

func codeHash(username, code string) string {
	h := sha256.Sum256([]byte(username + "\x00" + code))
	return hex.EncodeToString(h[:])
}

// invite gives u a one-time activation code, sent to its phone through the outbox in tx, and ends
// anything it was logged in with.
func (s *Service) invite(ctx context.Context, tx *db.Tx, u User) error {
	if u.Phone == "" {
		return errs.Field("phone", "the account has no mobile number on file to send its code to")
	}
	code := newCode()
	if _, err := tx.ExecContext(ctx, `UPDATE users SET state = $1, activation_hash = $2, activation_expires = $3, updated_at = $4 WHERE id = $5`,
		string(Invited), codeHash(u.Username, code), db.FormatTime(tx.Now.Add(ActivationValidity)), db.FormatTime(tx.Now), u.ID); err != nil {
		return fmt.Errorf("auth: invite: %w", err)
	}
	if err := endAccess(ctx, tx, u.ID); err != nil {
		return err
	}
	body := fmt.Sprintf("【社保】%s的账户 %s 的激活码：%s，%d小时内有效。请勿告诉任何人，包括工作人员。"+
		"shebao: the activation code of account %s is %s, valid %d hours. Tell no one, staff included.",
		u.DisplayName, maskName(u.Username), code, int(ActivationValidity.Hours()), maskName(u.Username), code, int(ActivationValidity.Hours()))
	return notify.Queue(ctx, tx, u.Phone, "activation", body)
}

// endAccess ends every session and API token of an account.
func endAccess(ctx context.Context, tx *db.Tx, userID int64) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = $1", userID); err != nil {
		return fmt.Errorf("auth: end sessions: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE api_tokens SET revoked = TRUE WHERE user_id = $1", userID); err != nil {
		return fmt.Errorf("auth: revoke tokens: %w", err)
	}
	return nil
}

// PendingAccounts lists the accounts in the principal's regions that wait for approval.
func (s *Service) PendingAccounts(ctx context.Context, by *Principal) ([]User, error) {
	return s.PendingPage(ctx, by, "", 0)
}

// PendingPage is one page of PendingAccounts: at most limit (0: all) after the username after.
func (s *Service) PendingPage(ctx context.Context, by *Principal, after string, limit int) ([]User, error) {
	if err := by.Require(ApproveAccount); err != nil {
		return nil, err
	}
	return s.listUsers(ctx, by, "state = 'pending' AND NOT disabled", after, limit)
}

// Approvals lists who has approved a pending account.
func (s *Service) Approvals(ctx context.Context, r db.Reader, userID int64) (admins, custodians []string, err error) {
	err = db.EachRow(ctx, r, func(scan func(...any) error) error {
		var who, role string
		if err := scan(&who, &role); err != nil {
			return err
		}
		if Role(role) == Admin {
			admins = append(admins, who)
		} else {
			custodians = append(custodians, who)
		}
		return nil
	}, "SELECT approver, approver_role FROM account_approvals WHERE user_id = $1 ORDER BY approved_at, approver", userID)
	return admins, custodians, err
}

// ApproveAccount adds the principal's approval to a pending staff account: an administrator's, or
// for a custodian account a custodian's. Approvals count only from accounts independent of the
// account's creator, of the account itself and of each other. When the account has a second
// administrator's approval (and, for a custodian, CustodianApprovals custodians'), it is invited:
// its holder gets the one-time code on their phone.
func (s *Service) ApproveAccount(ctx context.Context, by *Principal, username string) (User, error) {
	if err := by.Require(ApproveAccount); err != nil {
		return User{}, err
	}
	u, err := s.UserFor(ctx, by, username)
	if err != nil {
		return User{}, err
	}
	var as Role
	switch {
	case by.Has(Admin):
		as = Admin
	case by.Has(Custodian) && u.Has(Custodian):
		as = Custodian
	default:
		return User{}, errs.E(errs.Forbidden, "custodians approve new custodians only")
	}
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		var state string
		var disabled bool
		if err := tx.QueryRowContext(ctx, "SELECT state, disabled FROM users WHERE id = $1"+tx.ForUpdate(), u.ID).Scan(&state, &disabled); err != nil {
			return fmt.Errorf("auth: approve account: %w", err)
		}
		if State(state) != Pending || disabled {
			return errs.E(errs.Conflict, "the account does not wait for approval")
		}
		admins, custodians, err := s.Approvals(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		if slices.Contains(admins, by.Username) || slices.Contains(custodians, by.Username) {
			return errs.E(errs.Conflict, "you have already approved this account")
		}
		if as == Admin && len(admins) > 0 {
			return errs.E(errs.Conflict, "a second administrator has already approved this account")
		}
		if as == Custodian && len(custodians) >= CustodianApprovals {
			return errs.E(errs.Conflict, "enough custodians have already approved this account")
		}
		if err := Independent(ctx, tx, by.Username, append(append([]string{u.CreatedBy, u.Username}, admins...), custodians...)...); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO account_approvals(user_id, approver, approver_role, approved_at) VALUES($1, $2, $3, $4)",
			u.ID, by.Username, string(as), db.FormatTime(tx.Now)); err != nil {
			return fmt.Errorf("auth: approve account: %w", err)
		}
		if as == Admin {
			admins = append(admins, by.Username)
		} else {
			custodians = append(custodians, by.Username)
		}
		if err := audit.Record(ctx, tx, by.Actor(), "user.approve", "user:"+u.Username, firstRegion(u),
			map[string]any{"as": as, "admins": len(admins), "custodians": len(custodians)}); err != nil {
			return err
		}
		if len(admins) == 0 || (u.Has(Custodian) && len(custodians) < CustodianApprovals) {
			return nil
		}
		if _, err := tx.ExecContext(ctx, "UPDATE users SET approved_by = $1 WHERE id = $2", admins[0], u.ID); err != nil {
			return fmt.Errorf("auth: approve account: %w", err)
		}
		return s.invite(ctx, tx, u)
	})
	if err != nil {
		return User{}, err
	}
	return s.UserFor(ctx, by, username)
}

// ResetAccount sends a new one-time code to the account's phone on file and ends its sessions and
// tokens: for a holder who lost their password, at the window (residents: registry checks the ID
// card first) or by an administrator (staff). Nobody learns the code but the phone's owner.
func (s *Service) ResetAccount(ctx context.Context, by *Principal, who audit.Actor, username string) (User, error) {
	if err := by.Require(ResetAccount); err != nil {
		return User{}, err
	}
	u, err := s.UserFor(ctx, by, username)
	if err != nil {
		return User{}, err
	}
	if !by.Has(Admin) && u.Role != Resident && u.Role != Employer && u.Role != Institution {
		return User{}, errs.E(errs.Forbidden, "the window resets resident, employer and institution logins only; an administrator resets staff accounts")
	}
	if u.ID == by.ID {
		return User{}, errs.E(errs.Conflict, "change your own password on My account")
	}
	if u.State == Pending {
		return User{}, errs.E(errs.Conflict, "the account still waits for approval")
	}
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		if err := s.invite(ctx, tx, u); err != nil {
			return err
		}
		return audit.Record(ctx, tx, who, "user.reset", "user:"+u.Username, firstRegion(u), nil)
	})
	s.sessions.dropUser(u.ID)
	if err != nil {
		return User{}, err
	}
	return s.UserByName(ctx, username)
}

// Activate sets the first password of an invited account from its one-time code. Attempts are
// limited like logins, per account and per client address.
func (s *Service) Activate(ctx context.Context, username, code, password, addr string) error {
	uKey, aKey := "u:"+strings.ToLower(username), "a:"+addr
	if !s.byUser.Allow(uKey) || !s.byAddr.Allow(aKey) {
		wait := max(s.byUser.RetryAfter(uKey), s.byAddr.RetryAfter(aKey))
		return errs.E(errs.TooMany, "too many failed attempts; try again in %d minutes", int(wait.Minutes())+1)
	}
	fail := func() error {
		s.byUser.Fail(uKey)
		s.byAddr.Fail(aKey)
		return errs.E(errs.Unauthorized, "wrong username or code, or the code has lapsed; ask for a new one")
	}
	var id int64
	var state, hash, expires, display, role, region string
	err := s.db.R().QueryRowContext(ctx, `SELECT id, state, activation_hash, activation_expires, display_name, role,
		COALESCE((SELECT MIN(region) FROM user_regions r WHERE r.user_id = users.id), '') FROM users WHERE username = $1 AND NOT disabled`,
		username).Scan(&id, &state, &hash, &expires, &display, &role, &region)
	if errors.Is(err, sql.ErrNoRows) {
		return fail()
	}
	if err != nil {
		return fmt.Errorf("auth: activate: %w", err)
	}
	exp, _ := db.ParseTime(expires)
	if State(state) != Invited || hash == "" || !s.now().Before(exp) ||
		subtle.ConstantTimeCompare([]byte(hash), []byte(codeHash(username, strings.TrimSpace(code)))) != 1 {
		return fail()
	}
	if err := CheckStrength(password, username, display); err != nil {
		return errs.Field("password", err.Error())
	}
	newHash, err := HashPassword(password)
	if err != nil {
		return err
	}
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		// The code is spent in the same statement that checks it, so it works once even when two
		// requests race.
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, state = $2, activation_hash = '', activation_expires = '', updated_at = $3
			WHERE id = $4 AND activation_hash = $5`, newHash, string(Active), db.FormatTime(tx.Now), id, hash)
		if err != nil {
			return fmt.Errorf("auth: activate: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errs.E(errs.Unauthorized, "wrong username or code, or the code has lapsed; ask for a new one")
		}
		return audit.Record(ctx, tx, audit.Actor{Name: username, Role: role}, "user.activate", "user:"+username, region, nil)
	})
	if err == nil {
		s.byUser.Reset(uKey)
	}
	return err
}

// LoginOf returns the online account of a registered person.
func (s *Service) LoginOf(ctx context.Context, personID int64) (User, error) {
	u, err := scanUser(s.db.R().QueryRowContext(ctx, "SELECT "+userColumns("")+" FROM users WHERE person_id = $1", personID))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, errs.E(errs.NotFound, "the person has no online account yet")
	}
	if err != nil {
		return User{}, fmt.Errorf("auth: login of person: %w", err)
	}
	return u, s.loadRegions(ctx, s.db.R(), &u)
}
