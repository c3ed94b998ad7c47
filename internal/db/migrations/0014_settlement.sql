-- Medical settlement (SPEC 3.5): designated institutions, settlements with their items and their
-- split, each person's year counters, the institutions' daily reconciliation and monthly clearing.
-- Every business table carries the pooling region in its primary key (SPEC 6.4); an institution's
-- 12-character code is unique nationally through institution_codes.

CREATE TABLE institution_codes (
    code TEXT PRIMARY KEY,
    region TEXT NOT NULL
);

CREATE TABLE institutions (
    region TEXT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    -- 'hospital' (with level 1, 2 or 3) or 'pharmacy' (level 0)
    kind TEXT NOT NULL,
    level INTEGER NOT NULL,
    bank_account TEXT NOT NULL,
    -- 'pending' until a reviewer approves what a clerk registered, then 'approved'
    status TEXT NOT NULL,
    registered_by TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    approved_by TEXT NOT NULL DEFAULT '',
    approved_at TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (region, code)
);

-- An institution operator (role institution) acts for one institution.
ALTER TABLE users ADD COLUMN institution_code TEXT NOT NULL DEFAULT '';

-- Settlements are numbered per region: the public id is the region and the number, 16 digits.
CREATE TABLE settlement_sequence (
    region TEXT PRIMARY KEY,
    last {{big}} NOT NULL
);

CREATE TABLE settlements (
    region TEXT NOT NULL,
    seq {{big}} NOT NULL,
    institution_code TEXT NOT NULL,
    -- the institution's idempotency key and the SHA-256 of what it asked, so a retry gets the first
    -- answer and the same key with other content is refused
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    kind TEXT NOT NULL,
    settled_on TEXT NOT NULL,
    year INTEGER NOT NULL,
    person_id {{big}} NOT NULL,
    -- 'social_security_card', 'ecard' or 'medical_card', and the card's reference
    means TEXT NOT NULL,
    card_ref TEXT NOT NULL,
    use_account BOOLEAN NOT NULL,
    total {{big}} NOT NULL,
    self_pay_c {{big}} NOT NULL,
    first_self_pay_b {{big}} NOT NULL,
    eligible {{big}} NOT NULL,
    deductible {{big}} NOT NULL,
    ratio {{big}} NOT NULL,
    pool {{big}} NOT NULL,
    account {{big}} NOT NULL,
    cash {{big}} NOT NULL,
    cap_left {{big}} NOT NULL,
    account_balance {{big}} NOT NULL,
    entry_id {{big}},
    operator TEXT NOT NULL,
    created_at TEXT NOT NULL,
    refund_key TEXT NOT NULL DEFAULT '',
    refund_entry_id {{big}},
    refunded_by TEXT NOT NULL DEFAULT '',
    refunded_at TEXT NOT NULL DEFAULT '',
    -- the month of the clearing that paid the institution for it (0: not cleared yet), and the one
    -- that took a later refund back
    cleared_in INTEGER NOT NULL DEFAULT 0,
    refund_cleared_in INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (region, seq),
    UNIQUE (region, institution_code, idem_key)
);

CREATE INDEX settlements_person ON settlements(region, person_id, settled_on);
CREATE INDEX settlements_institution_day ON settlements(region, institution_code, settled_on);
CREATE INDEX settlements_card_day ON settlements(region, card_ref, settled_on);

CREATE TABLE settlement_items (
    region TEXT NOT NULL,
    seq {{big}} NOT NULL,
    line INTEGER NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    amount {{big}} NOT NULL,
    PRIMARY KEY (region, seq, line)
);

-- What a person's settlements of a year have counted: the outpatient deductible used, and what the
-- pool paid by kind. Updated in the settlement's transaction; a refund gives it back.
CREATE TABLE medical_years (
    region TEXT NOT NULL,
    person_id {{big}} NOT NULL,
    year INTEGER NOT NULL,
    outpatient_deductible_used {{big}} NOT NULL DEFAULT 0,
    outpatient_pool_paid {{big}} NOT NULL DEFAULT 0,
    inpatient_pool_paid {{big}} NOT NULL DEFAULT 0,
    PRIMARY KEY (region, person_id, year)
);

-- An institution's own totals of a day, as it sent them, and whether they agreed with the bureau's.
CREATE TABLE reconciliations (
    region TEXT NOT NULL,
    institution_code TEXT NOT NULL,
    day TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    count {{big}} NOT NULL,
    total {{big}} NOT NULL,
    pool {{big}} NOT NULL,
    account {{big}} NOT NULL,
    cash {{big}} NOT NULL,
    agree BOOLEAN NOT NULL,
    submitted_by TEXT NOT NULL,
    PRIMARY KEY (region, institution_code, day, submitted_at)
);

-- The bureau's monthly clearing of what it owes an institution: prepared by a clerk, approved by a
-- reviewer, posted once.
CREATE TABLE clearings (
    region TEXT NOT NULL,
    institution_code TEXT NOT NULL,
    month INTEGER NOT NULL,
    count {{big}} NOT NULL,
    amount {{big}} NOT NULL,
    status TEXT NOT NULL,
    prepared_by TEXT NOT NULL,
    prepared_at TEXT NOT NULL,
    approved_by TEXT NOT NULL DEFAULT '',
    approved_at TEXT NOT NULL DEFAULT '',
    entry_id {{big}},
    PRIMARY KEY (region, institution_code, month)
);
