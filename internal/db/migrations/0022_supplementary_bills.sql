-- Supplementary bills (补缴). A declaration that reaches back into a month already billed (staff
-- added late, a base raised from an earlier month, a clerk's correction) is billed by a bill of its
-- own for that month, with only the difference; the bill already issued never changes. A bill is
-- now one of a payer's month: supplement 0 is the monthly run's, 1, 2, … the supplements in order.
--
-- SQLite cannot change a UNIQUE constraint, so it rebuilds bills with the ids as they are (lines,
-- allocations and ledger entries name bills by id). Its children are not rebuilt: the migration
-- runs with foreign keys off ({{sqlite_foreign_keys_off}}), and before the old table is dropped a
-- CHECK constraint proves the copy holds every row (the ids are the primary key, so the same count
-- is the same ids): no child can be left referring to nothing. PostgreSQL changes the constraint in
-- place.
{{sqlite_foreign_keys_off}};
{{sqlite}}CREATE TABLE bills_new (
    id {{id}},
    region TEXT NOT NULL,
    month INTEGER NOT NULL,
    payer TEXT NOT NULL,
    supplement INTEGER NOT NULL DEFAULT 0,
    persons INTEGER NOT NULL,
    total {{big}} NOT NULL,
    due_date TEXT NOT NULL,
    paid {{big}} NOT NULL DEFAULT 0,
    fee_accrued {{big}} NOT NULL DEFAULT 0,
    fee_accrued_to TEXT NOT NULL DEFAULT '',
    fee_paid {{big}} NOT NULL DEFAULT 0,
    accounts_credited BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL,
    UNIQUE (region, month, payer, supplement)
);
{{sqlite}}INSERT INTO bills_new(id, region, month, payer, persons, total, due_date, paid, fee_accrued, fee_accrued_to, fee_paid,
    accounts_credited, created_at)
SELECT id, region, month, payer, persons, total, due_date, paid, fee_accrued, fee_accrued_to, fee_paid, accounts_credited, created_at
FROM bills;
{{sqlite}}CREATE TEMP TABLE bills_copied (missing INTEGER NOT NULL CHECK (missing = 0));
{{sqlite}}INSERT INTO bills_copied SELECT (SELECT COUNT(*) FROM bills) - (SELECT COUNT(*) FROM bills_new);
{{sqlite}}DROP TABLE bills_copied;
{{sqlite}}DROP TABLE bills;
{{sqlite}}ALTER TABLE bills_new RENAME TO bills;
{{sqlite}}CREATE INDEX bills_payer ON bills(payer, month);
{{postgres}}ALTER TABLE bills ADD COLUMN supplement INTEGER NOT NULL DEFAULT 0;
{{postgres}}ALTER TABLE bills DROP CONSTRAINT bills_region_month_payer_key;
{{postgres}}ALTER TABLE bills ADD CONSTRAINT bills_region_month_payer_supplement_key UNIQUE (region, month, payer, supplement);

-- Months whose declarations changed after they may have been billed: the registry marks the
-- employer's month in the transaction of the change, and contributions bill the difference (or find
-- none) and remove the mark in the transaction of the supplementary bill, so that a change is
-- billed once whatever stops in between.
CREATE TABLE restated_months (
    region TEXT NOT NULL,
    payer TEXT NOT NULL,
    month INTEGER NOT NULL,
    marked_at TEXT NOT NULL,
    PRIMARY KEY (region, payer, month)
);
