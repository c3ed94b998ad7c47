-- Contributions: one assessed row per person, month and payer; bills per payer and month; payments
-- and how they were allocated; and the state of each region's monthly run.

CREATE TABLE contribution_runs (
    region TEXT NOT NULL,
    month INTEGER NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL DEFAULT '',
    started_by TEXT NOT NULL,
    PRIMARY KEY (region, month)
);

-- payer: 'employer:<id>' for an employer's bill, 'person:<id>' for a flexible worker's own.
CREATE TABLE bills (
    id {{id}},
    region TEXT NOT NULL,
    month INTEGER NOT NULL,
    payer TEXT NOT NULL,
    persons INTEGER NOT NULL,
    total {{big}} NOT NULL,
    due_date TEXT NOT NULL,
    paid {{big}} NOT NULL DEFAULT 0,
    fee_accrued {{big}} NOT NULL DEFAULT 0,
    fee_accrued_to TEXT NOT NULL DEFAULT '',
    fee_paid {{big}} NOT NULL DEFAULT 0,
    accounts_credited BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL,
    UNIQUE (region, month, payer)
);

CREATE INDEX bills_payer ON bills(payer, month);

-- One row per person, month and payer, every line as a column: the run writes a million of these.
CREATE TABLE contribution_lines (
    bill_id {{big}} NOT NULL REFERENCES bills(id),
    person_id {{big}} NOT NULL,
    month INTEGER NOT NULL,
    base {{big}} NOT NULL,
    pension_employer {{big}} NOT NULL,
    pension_employee {{big}} NOT NULL,
    medical_employer {{big}} NOT NULL,
    medical_employee {{big}} NOT NULL,
    unemployment_employer {{big}} NOT NULL,
    unemployment_employee {{big}} NOT NULL,
    work_injury_employer {{big}} NOT NULL,
    to_pension_account {{big}} NOT NULL,
    to_medical_account {{big}} NOT NULL,
    -- keyed by person first: a resident's history is one range of the table itself
    PRIMARY KEY (person_id, month, bill_id)
){{without_rowid}};

CREATE INDEX contribution_lines_bill ON contribution_lines(bill_id);

CREATE TABLE payments (
    id {{id}},
    region TEXT NOT NULL,
    payer TEXT NOT NULL,
    idem_key TEXT NOT NULL UNIQUE,
    content_hash TEXT NOT NULL,
    amount {{big}} NOT NULL,
    paid_on TEXT NOT NULL,
    excess {{big}} NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);

CREATE TABLE payment_allocations (
    payment_id {{big}} NOT NULL REFERENCES payments(id),
    bill_id {{big}} NOT NULL REFERENCES bills(id),
    principal {{big}} NOT NULL,
    fee {{big}} NOT NULL,
    PRIMARY KEY (payment_id, bill_id)
);
