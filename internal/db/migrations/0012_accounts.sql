-- Accounts that no one person controls (docs/security.md).
--
-- created_by: the account that created this one in the portal or the API; '' for the server's
-- console (shebao user add, the demo loader), the root of trust.
-- approved_by: the second administrator who vouched for a staff account made in the portal; a
-- staff account waits (state 'pending') until then.
-- state: 'pending' (waits for approval), 'invited' (approved, waits for its holder to set a
-- password with the one-time code sent to the phone on file), 'active'.
-- activation_hash / activation_expires: the SHA-256 of that one-time code, and when it lapses.
-- totp_last_step: the last 30-second step whose TOTP code was accepted, so a code works once.
ALTER TABLE users ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN approved_by TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN state TEXT NOT NULL DEFAULT 'active';
ALTER TABLE users ADD COLUMN phone TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN activation_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN activation_expires TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN totp_last_step {{big}} NOT NULL DEFAULT 0;

-- Accounts made in the portal before this migration: their creator, as the audit log names it.
UPDATE users SET created_by = COALESCE((SELECT a.actor FROM audit_log a WHERE a.action = 'user.create'
    AND a.object = 'user:' || users.username AND a.role NOT IN ('operator', 'system') ORDER BY a.seq LIMIT 1), '');

-- A person has at most one online account. Where staff made a second one before this rule, the
-- later ones are disabled and detached from the person (the audit log keeps who made them).
UPDATE users SET disabled = TRUE, person_id = NULL
WHERE person_id IS NOT NULL AND id > (SELECT MIN(u2.id) FROM users u2 WHERE u2.person_id = users.person_id);
DROP INDEX users_person;
CREATE UNIQUE INDEX users_one_login_per_person ON users(person_id);

-- The approvals a pending account has gathered: a second administrator, and for a custodian the
-- existing custodians.
CREATE TABLE account_approvals (
    user_id {{big}} NOT NULL REFERENCES users(id),
    approver TEXT NOT NULL,
    approver_role TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    PRIMARY KEY (user_id, approver)
);

-- The notification outbox: text messages written in the transaction that decides them, sent
-- afterwards by the dispatcher through the configured gateway.
CREATE TABLE notifications (
    id {{id}},
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    purpose TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    sent_at TEXT NOT NULL DEFAULT '',
    last_error TEXT NOT NULL DEFAULT ''
);

CREATE INDEX notifications_due ON notifications(sent_at, next_attempt_at);
CREATE INDEX notifications_recipient ON notifications(recipient, id);

-- Who submitted an enrolment application, so that its reviewer can be checked against them too.
ALTER TABLE enrolments ADD COLUMN submitted_by TEXT NOT NULL DEFAULT '';
UPDATE enrolments SET submitted_by = prepared_by WHERE submitted_at IS NOT NULL AND submitted_at <> '';

-- Who gave a card application its photo, so that its approver can be checked against them too.
ALTER TABLE cards ADD COLUMN photo_by TEXT NOT NULL DEFAULT '';
UPDATE cards SET photo_by = applied_by WHERE photo_type <> '';
