// Package auth owns who may use shebao: users and their roles and pooling regions, password and
// TOTP checks, portal sessions, API tokens, login rate limiting, and the one permission table
// (roles.go) that every route consults.
//
// Secrets never leave this package in the clear except once, at creation: a generated password or
// an API token is returned to the caller to show the user and is stored only as a hash. Nothing here
// logs a password, a token or a TOTP code.
package auth

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/notify"
)

// User is an account.
type User struct {
	ID          int64
	Username    string
	DisplayName string
	Role        Role   // the primary role, shown in the portal
	Roles       []Role // every role, the primary first
	Regions     []string
	Disabled    bool
	Demo        bool
	PersonID    int64 // the registered person a resident login belongs to; 0 for other roles
	EmployerID  int64 // the employer an employer-role login acts for; 0 for other roles
	// InstitutionCode is the designated hospital or pharmacy an institution-role login acts for.
	InstitutionCode string
	TOTP            bool // a second factor is required at login
	CreatedAt       time.Time
	CreatedBy       string // the account that created this one in the portal or API; "" = the console
	ApprovedBy      string // the second administrator who vouched for a staff account made in the portal
	State           State
	Phone           string // where one-time codes go; "" for console-made accounts without one
}

// Has reports whether the user holds role.
func (u *User) Has(role Role) bool { return slices.Contains(u.allRoles(), role) }

// allRoles is Roles, or the primary role alone for a User built without its list.
func (u *User) allRoles() []Role {
	if len(u.Roles) == 0 {
		return []Role{u.Role}
	}
	return u.Roles
}

// InRegion reports whether the user acts in region.
func (u *User) InRegion(region string) bool { return slices.Contains(u.Regions, region) }

// Principal is the user behind a request, with how they proved it and the request's id.
type Principal struct {
	User
	Via       string // "session" or "token"
	RequestID string
}

// Actor is the principal as the audit log names it.
func (p *Principal) Actor() audit.Actor {
	return audit.Actor{Name: p.Username, Role: string(p.Role), RequestID: p.RequestID}
}

// Can reports whether the principal's role may perform a.
func (p *Principal) Can(a Action) bool {
	return p != nil && slices.ContainsFunc(p.allRoles(), func(r Role) bool { return Can(r, a) })
}

// Require returns a Forbidden error unless the principal may perform a.
func (p *Principal) Require(a Action) error {
	if !p.Can(a) {
		return errs.E(errs.Forbidden, "your role may not do this")
	}
	return nil
}

// Options configure a Service.
type Options struct {
	SessionTTL   time.Duration    // portal session lifetime; 0 = 12 hours
	LoginLimit   int              // failed logins per username or address per window; 0 = 5
	LoginWindow  time.Duration    // 0 = 15 minutes
	Now          func() time.Time // nil = the database's clock
	TOTPIssuer   string           // shown in authenticator apps; "" = "shebao"
	AddrLimitMul int              // an address may fail this many times more than a username; 0 = 4
	// SecretKey seals the TOTP secrets at rest (SecretKeyLen bytes, from the server's secret-key
	// file). nil = a random key for this process only, for tests and tools that never restart.
	SecretKey []byte
}

// Service is the auth capability.
type Service struct {
	db       *db.DB
	now      func() time.Time
	ttl      time.Duration
	issuer   string
	byUser   *Limiter
	byAddr   *Limiter
	sessions sessionCache
	aead     cipher.AEAD // seals TOTP secrets
}

// New returns a Service over d.
func New(d *db.DB, o Options) *Service {
	if o.SessionTTL == 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.LoginLimit == 0 {
		o.LoginLimit = 5
	}
	if o.LoginWindow == 0 {
		o.LoginWindow = 15 * time.Minute
	}
	if o.AddrLimitMul == 0 {
		o.AddrLimitMul = 4
	}
	if o.Now == nil {
		o.Now = d.Now
	}
	if o.TOTPIssuer == "" {
		o.TOTPIssuer = "shebao"
	}
	key := o.SecretKey
	if key == nil {
		key = make([]byte, SecretKeyLen)
		if _, err := rand.Read(key); err != nil {
			panic(err)
		}
	}
	aead, err := newSecretAEAD(key)
	if err != nil {
		panic(err) // the command line checks the key file's length before it gets here
	}
	return &Service{
		db: d, now: o.Now, ttl: o.SessionTTL, issuer: o.TOTPIssuer,
		byUser: NewLimiter(o.LoginLimit, o.LoginWindow, o.Now),
		byAddr: NewLimiter(o.LoginLimit*o.AddrLimitMul, o.LoginWindow, o.Now),
		aead:   aead,
	}
}

var (
	usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,62}$`)
	regionRE   = regexp.MustCompile(`^[0-9]{6}$`)
)

// ValidRegion reports whether s is a 6-digit administrative division code.
func ValidRegion(s string) bool { return regionRE.MatchString(s) }

// NewUser describes an account to create.
type NewUser struct {
	Username    string
	DisplayName string
	Role        Role
	Also        []Role // further roles; only the window roles clerk, reviewer and card_officer combine
	Regions     []string
	Password    string // console only: "" = generate one and return it
	Phone       string // required in the portal and API: the holder's mobile, where their code goes
	Demo        bool
	PersonID    int64 // required for a resident login made for a registered person
	EmployerID  int64 // required for an employer's HR operator
	// InstitutionCode is required for an institution's operator: the login acts for it alone.
	InstitutionCode string
}

// CreateUser creates an account. by is the administrator doing it in the portal or the API, or nil
// for the server's console (shebao user add, the demo loader), which is trusted like the database.
//
// From the console the account is active at once and its password (the one given, or a generated
// one) is returned to show once. From the portal nobody learns the password: a staff account
// (clerk, reviewer, card officer, custodian, auditor, administrator) waits for a second,
// independent administrator's approval — a custodian also for existing custodians' — and then, like
// every other account, its holder sets a password with a one-time code sent to the phone given
// here (docs/security.md). An admin may create users only in their own regions.
func (s *Service) CreateUser(ctx context.Context, by *Principal, who audit.Actor, nu NewUser) (User, string, error) {
	if by != nil {
		if err := by.Require(CreateUser); err != nil {
			return User{}, "", err
		}
	}
	return s.createAccount(ctx, by, who, nu)
}

// CreateLogin makes the portal login of a registered person (a resident), of an employer's HR
// operator or of a designated institution's operator, for the clerk at the window. Like every account made in the portal, its holder sets the
// password with a one-time code sent to the phone on file.
func (s *Service) CreateLogin(ctx context.Context, by *Principal, nu NewUser) (User, error) {
	if err := by.Require(CreateLogin); err != nil {
		return User{}, err
	}
	if nu.Role != Resident && nu.Role != Employer && nu.Role != Institution || len(nu.Also) > 0 {
		return User{}, errs.Field("role", "the window makes resident, employer and institution logins only")
	}
	u, _, err := s.createAccount(ctx, by, by.Actor(), nu)
	return u, err
}

func (s *Service) createAccount(ctx context.Context, by *Principal, who audit.Actor, nu NewUser) (User, string, error) {
	f := errs.Fields{}
	nu.Username = strings.TrimSpace(nu.Username)
	if !usernameRE.MatchString(nu.Username) {
		f.Add("username", "2–63 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if _, err := ParseRole(string(nu.Role)); err != nil {
		f.Add("role", "unknown role")
	}
	for _, r := range nu.Also {
		if !Combinable(nu.Role) || !Combinable(r) || r == nu.Role {
			f.Add("roles", "only clerk, reviewer and card_officer may be combined, each once")
		}
	}
	if len(nu.Regions) == 0 {
		f.Add("regions", "at least one pooling region is required")
	}
	for _, r := range nu.Regions {
		if !ValidRegion(r) {
			f.Add("regions", "a region is a 6-digit administrative division code")
		} else if by != nil && !by.InRegion(r) {
			f.Add("regions", "you may create users only in your own regions")
		}
	}
	if utf8.RuneCountInString(nu.DisplayName) > 100 {
		f.Add("display_name", "at most 100 characters")
	}
	if (nu.PersonID != 0 && nu.Role != Resident) || (nu.EmployerID != 0 && nu.Role != Employer) || (nu.InstitutionCode != "" && nu.Role != Institution) {
		f.Add("role", "a person's login is a resident, an employer's login is an employer, an institution's an institution")
	}
	nu.Phone = strings.TrimSpace(nu.Phone)
	if nu.Phone != "" && !notify.ValidMobile(nu.Phone) {
		f.Add("phone", "a mobile number of 11 digits, like 13800000000")
	}
	password := nu.Password
	state := Active
	if by != nil {
		// The portal never sets or shows another person's password.
		if nu.Password != "" {
			f.Add("password", "the account's holder sets the password with the code sent to their phone; leave it out")
		}
		if nu.Phone == "" {
			f.Add("phone", "required: the account's holder gets their one-time code on this phone")
		}
		password = GeneratePassword() // unusable: nobody ever sees it
		state = Invited
		if slices.ContainsFunc(append([]Role{nu.Role}, nu.Also...), Role.Staff) {
			state = Pending
		}
	} else if password == "" {
		password = GeneratePassword()
	} else if err := CheckStrength(password, nu.Username, nu.DisplayName); err != nil {
		f.Add("password", err.Error())
	}
	if err := f.Err(); err != nil {
		return User{}, "", err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return User{}, "", err
	}
	createdBy := ""
	if by != nil {
		createdBy = by.Username
	}
	regions := slices.Compact(slices.Sorted(slices.Values(nu.Regions)))
	var u User
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		now := db.FormatTime(tx.Now)
		err := tx.QueryRowContext(ctx, `INSERT INTO users(username, display_name, role, password_hash, demo, created_at, updated_at, person_id, employer_id,
			created_by, state, phone, institution_code) VALUES($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10, $11, $12) RETURNING id`, nu.Username, nu.DisplayName, string(nu.Role), hash, nu.Demo, now,
			nullID(nu.PersonID), nullID(nu.EmployerID), createdBy, string(state), nu.Phone, nu.InstitutionCode).Scan(&u.ID)
		if db.IsUniqueViolation(err) {
			if nu.PersonID != 0 && s.personHasLogin(ctx, tx, nu.PersonID) {
				return errs.E(errs.Conflict, "this person already has an online account; if they cannot log in, reset it at the window with their ID card")
			}
			return errs.E(errs.Conflict, "username %q is taken", nu.Username)
		}
		if err != nil {
			return fmt.Errorf("auth: create user: %w", err)
		}
		for _, r := range regions {
			if _, err := tx.ExecContext(ctx, "INSERT INTO user_regions(user_id, region) VALUES($1, $2)", u.ID, r); err != nil {
				return fmt.Errorf("auth: create user: %w", err)
			}
		}
		for _, r := range nu.Also {
			if _, err := tx.ExecContext(ctx, "INSERT INTO user_roles(user_id, role) VALUES($1, $2)", u.ID, string(r)); err != nil {
				return fmt.Errorf("auth: create user: %w", err)
			}
		}
		u = User{ID: u.ID, Username: nu.Username, DisplayName: nu.DisplayName, Role: nu.Role, Roles: append([]Role{nu.Role}, nu.Also...), Regions: regions, Demo: nu.Demo,
			PersonID: nu.PersonID, EmployerID: nu.EmployerID, InstitutionCode: nu.InstitutionCode, CreatedAt: tx.Now, CreatedBy: createdBy, State: state, Phone: nu.Phone}
		if err := audit.Record(ctx, tx, who, "user.create", "user:"+nu.Username, regions[0],
			map[string]any{"role": nu.Role, "also": nu.Also, "regions": regions, "demo": nu.Demo, "state": state}); err != nil {
			return err
		}
		if state == Invited {
			return s.invite(ctx, tx, u)
		}
		return nil
	})
	if err != nil {
		return User{}, "", err
	}
	if by != nil {
		return u, "", nil
	}
	return u, password, nil
}

func (s *Service) personHasLogin(ctx context.Context, r db.Reader, personID int64) bool {
	var n int
	return r.QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE person_id = $1", personID).Scan(&n) == nil && n > 0
}

// userColumns lists what scanUser reads, each qualified with prefix ("" or "u.").
func userColumns(p string) string {
	return strings.NewReplacer("$.", p).Replace("$.id, $.username, $.display_name, $.role, $.disabled, $.demo, $.totp_secret <> '', " +
		"$.created_at, COALESCE($.person_id, 0), COALESCE($.employer_id, 0), $.created_by, $.approved_by, $.state, $.phone, $.institution_code")
}

// scanUser reads userColumns and then any extra columns the query selected after them.
func scanUser(row interface{ Scan(...any) error }, extra ...any) (User, error) {
	var u User
	var role, created, state string
	dest := append([]any{&u.ID, &u.Username, &u.DisplayName, &role, &u.Disabled, &u.Demo, &u.TOTP, &created, &u.PersonID, &u.EmployerID,
		&u.CreatedBy, &u.ApprovedBy, &state, &u.Phone, &u.InstitutionCode}, extra...)
	if err := row.Scan(dest...); err != nil {
		return User{}, err
	}
	u.Role, u.State = Role(role), State(state)
	u.CreatedAt, _ = db.ParseTime(created)
	return u, nil
}

// loadRegions reads the user's regions and further roles.
func (s *Service) loadRegions(ctx context.Context, r db.Reader, u *User) error {
	u.Roles = []Role{u.Role}
	roles, err := r.QueryContext(ctx, "SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role", u.ID)
	if err != nil {
		return fmt.Errorf("auth: roles: %w", err)
	}
	for roles.Next() {
		var role string
		if err := roles.Scan(&role); err != nil {
			roles.Close()
			return err
		}
		u.Roles = append(u.Roles, Role(role))
	}
	roles.Close()
	if err := roles.Err(); err != nil {
		return err
	}
	rows, err := r.QueryContext(ctx, "SELECT region FROM user_regions WHERE user_id = $1 ORDER BY region", u.ID)
	if err != nil {
		return fmt.Errorf("auth: regions: %w", err)
	}
	defer rows.Close()
	u.Regions = nil
	for rows.Next() {
		var reg string
		if err := rows.Scan(&reg); err != nil {
			return err
		}
		u.Regions = append(u.Regions, reg)
	}
	return rows.Err()
}

// UserByName returns an account by username.
func (s *Service) UserByName(ctx context.Context, username string) (User, error) {
	u, err := scanUser(s.db.R().QueryRowContext(ctx, "SELECT "+userColumns("")+" FROM users WHERE username = $1", username))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, errs.E(errs.NotFound, "no user %q", username)
	}
	if err != nil {
		return User{}, fmt.Errorf("auth: user: %w", err)
	}
	return u, s.loadRegions(ctx, s.db.R(), &u)
}

// UserFor returns the account named username as the principal may see it: only within the
// principal's regions.
func (s *Service) UserFor(ctx context.Context, by *Principal, username string) (User, error) {
	u, err := s.UserByName(ctx, username)
	if err != nil {
		return User{}, err
	}
	if !sharesRegion(by, &u) {
		return User{}, errs.E(errs.NotFound, "no user %q", username)
	}
	return u, nil
}

func sharesRegion(by *Principal, u *User) bool {
	return slices.ContainsFunc(u.Regions, by.InRegion)
}

// ListUsers returns the accounts in the principal's regions, by username.
func (s *Service) ListUsers(ctx context.Context, by *Principal) ([]User, error) {
	return s.UsersPage(ctx, by, "", 0)
}

// UsersPage is one page of ListUsers: at most limit accounts (0: all) after the username after.
func (s *Service) UsersPage(ctx context.Context, by *Principal, after string, limit int) ([]User, error) {
	if err := by.Require(ListUsers); err != nil {
		return nil, err
	}
	return s.listUsers(ctx, by, "", after, limit)
}

// usersBatch is how many accounts listUsers reads at a time: the region filter is applied to what
// it reads, so a page of one region's accounts may take several batches.
const usersBatch = 500

// listUsers reads the accounts that match where (a condition over users, or "") and share a
// region with the principal, by username: at most limit of them (0: all) after the username after.
func (s *Service) listUsers(ctx context.Context, by *Principal, where, after string, limit int) ([]User, error) {
	if where != "" {
		where = " AND " + where
	}
	var out []User
	err := s.db.Read(ctx, func(tx *db.Tx) error {
		for {
			var batch []User
			err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
				u, err := scanUser(scanFunc(scan))
				if err != nil {
					return err
				}
				batch = append(batch, u)
				return nil
			}, "SELECT "+userColumns("")+" FROM users WHERE username > $1"+where+" ORDER BY username LIMIT $2", after, usersBatch)
			if err != nil {
				return fmt.Errorf("auth: list users: %w", err)
			}
			for i := range batch {
				if err := s.loadRegions(ctx, tx, &batch[i]); err != nil {
					return err
				}
				if sharesRegion(by, &batch[i]) {
					out = append(out, batch[i])
					if len(out) == limit {
						return nil
					}
				}
			}
			if len(batch) < usersBatch {
				return nil
			}
			after = batch[len(batch)-1].Username
		}
	})
	return out, err
}

// scanFunc lets a db.EachRow scan function stand where a row is expected.
type scanFunc func(...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// SetDisabled disables or re-enables an account in the admin's regions. Disabling ends the user's
// sessions and stops their tokens from working.
func (s *Service) SetDisabled(ctx context.Context, by *Principal, username string, disabled bool) error {
	if err := by.Require(DisableUser); err != nil {
		return err
	}
	u, err := s.UserFor(ctx, by, username)
	if err != nil {
		return err
	}
	if u.ID == by.ID {
		return errs.E(errs.Conflict, "you cannot disable your own account")
	}
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3", disabled, db.FormatTime(tx.Now), u.ID); err != nil {
			return fmt.Errorf("auth: disable: %w", err)
		}
		if disabled {
			if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = $1", u.ID); err != nil {
				return err
			}
		}
		action := "user.enable"
		if disabled {
			action = "user.disable"
		}
		return audit.Record(ctx, tx, by.Actor(), action, "user:"+username, u.Regions[0], nil)
	})
	s.sessions.dropUser(u.ID)
	return err
}

// Login checks a username, password and (when the account has one) TOTP code. Failures are
// counted per username and per client address; past the limit every attempt is refused with
// TooMany, even a correct one, until the window has passed.
func (s *Service) Login(ctx context.Context, username, password, totp, addr string) (User, error) {
	uKey, aKey := "u:"+strings.ToLower(username), "a:"+addr
	if !s.byUser.Allow(uKey) || !s.byAddr.Allow(aKey) {
		wait := max(s.byUser.RetryAfter(uKey), s.byAddr.RetryAfter(aKey))
		return User{}, errs.E(errs.TooMany, "too many failed logins; try again in %d minutes", int(wait.Minutes())+1)
	}
	fail := func() (User, error) {
		s.byUser.Fail(uKey)
		s.byAddr.Fail(aKey)
		return User{}, errs.E(errs.Unauthorized, "wrong username, password or code")
	}
	var hash, secret string
	u, err := scanUser(s.db.R().QueryRowContext(ctx, "SELECT "+userColumns("")+", password_hash, totp_secret FROM users WHERE username = $1", username), &hash, &secret)
	if errors.Is(err, sql.ErrNoRows) {
		_, _ = CheckPassword(dummyHash, password)
		return fail()
	}
	if err != nil {
		return User{}, fmt.Errorf("auth: login: %w", err)
	}
	ok, err := CheckPassword(hash, password)
	if err != nil {
		return User{}, err
	}
	if !ok || u.Disabled || u.State != Active {
		return fail()
	}
	if secret != "" {
		plain, err := s.openSecret(secret)
		if err != nil {
			return User{}, err
		}
		step, ok := MatchTOTP(plain, totp, s.now())
		if !ok {
			return fail()
		}
		// A code works once: the step is taken only if it is later than the last one used, in one
		// statement, so a code seen over a shoulder or replayed by a second request is refused.
		var taken int64
		if err := s.db.Write(ctx, func(tx *db.Tx) error {
			res, err := tx.ExecContext(ctx, "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1", step, u.ID)
			if err != nil {
				return err
			}
			taken, err = res.RowsAffected()
			return err
		}); err != nil {
			return User{}, fmt.Errorf("auth: login: %w", err)
		}
		if taken != 1 {
			return fail()
		}
	}
	s.byUser.Reset(uKey)
	return u, s.loadRegions(ctx, s.db.R(), &u)
}

func randomToken(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

func hashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

// nullID stores 0 as NULL for optional references.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
