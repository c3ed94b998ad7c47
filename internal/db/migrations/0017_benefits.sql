-- Benefits (SPEC 3.6): unemployment registration, claims checked against Art. 45's conditions and
-- approved by a reviewer, the monthly benefit run paying each month once to the bank account of the
-- person's social security card (or holding it, with the reason, until there is one), and the
-- runs themselves. Region in every key (SPEC 6.4).

-- 失业登记: registered as unemployed and seeking work, with its date.
CREATE TABLE unemployment_registrations (
    region TEXT NOT NULL,
    person_id {{big}} NOT NULL,
    registered_on TEXT NOT NULL,
    seeking_work BOOLEAN NOT NULL,
    -- 'window' (a clerk) or 'online' (the person)
    channel TEXT NOT NULL,
    registered_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (region, person_id, registered_on)
);

CREATE TABLE benefit_sequence (
    region TEXT PRIMARY KEY,
    last {{big}} NOT NULL
);

-- 申领: a claim, what it was checked against, what it entitles, and where it stands.
CREATE TABLE unemployment_claims (
    region TEXT NOT NULL,
    id {{big}} NOT NULL,
    person_id {{big}} NOT NULL,
    registered_on TEXT NOT NULL,
    last_employer_id {{big}} NOT NULL,
    removal_month INTEGER NOT NULL,
    removal_reason TEXT NOT NULL,
    contribution_months INTEGER NOT NULL,
    entitled_months INTEGER NOT NULL,
    carried_over_months INTEGER NOT NULL,
    total_months INTEGER NOT NULL,
    drawn_months INTEGER NOT NULL DEFAULT 0,
    monthly_amount {{big}} NOT NULL,
    start_month INTEGER NOT NULL,
    -- 'prepared', 'approved', 'rejected', 'ended' (re-employed, a pension, or ended by a clerk),
    -- 'completed' (every month drawn)
    status TEXT NOT NULL,
    prepared_by TEXT NOT NULL,
    prepared_at TEXT NOT NULL,
    approved_by TEXT NOT NULL DEFAULT '',
    approved_at TEXT NOT NULL DEFAULT '',
    reject_reason TEXT NOT NULL DEFAULT '',
    ended_month INTEGER NOT NULL DEFAULT 0,
    end_reason TEXT NOT NULL DEFAULT '',
    ended_by TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (region, id)
);

CREATE INDEX unemployment_claims_person ON unemployment_claims(region, person_id, id);
CREATE INDEX unemployment_claims_status ON unemployment_claims(region, status, start_month);

-- A claim's month: paid to the card's bank account, or held with the reason until it can be.
-- The key makes a month paid at most once.
CREATE TABLE benefit_payments (
    region TEXT NOT NULL,
    claim_id {{big}} NOT NULL,
    month INTEGER NOT NULL,
    person_id {{big}} NOT NULL,
    amount {{big}} NOT NULL,
    -- 'paid' or 'held'
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    card_ref TEXT NOT NULL DEFAULT '',
    bank_account TEXT NOT NULL DEFAULT '',
    -- the month's medical insurance contribution, paid by the unemployment fund (Art. 48)
    medical_pool {{big}} NOT NULL DEFAULT 0,
    medical_account {{big}} NOT NULL DEFAULT 0,
    entry_id {{big}},
    decided_at TEXT NOT NULL,
    paid_at TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (region, claim_id, month)
);

CREATE INDEX benefit_payments_held ON benefit_payments(region, status, month);
CREATE INDEX benefit_payments_person ON benefit_payments(region, person_id, month);

-- A region's monthly benefit run: resumable, its state its heartbeat, like the contribution run.
CREATE TABLE benefit_runs (
    region TEXT NOT NULL,
    month INTEGER NOT NULL,
    started_by TEXT NOT NULL,
    started_at TEXT NOT NULL,
    beat_at TEXT NOT NULL,
    finished_at TEXT NOT NULL DEFAULT '',
    paid INTEGER NOT NULL DEFAULT 0,
    held INTEGER NOT NULL DEFAULT 0,
    ended INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (region, month)
);
