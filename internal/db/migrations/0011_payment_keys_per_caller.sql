-- A payment's idempotency key is the caller's own: unique per account that recorded the payment
-- (recorded_by), no longer across all callers. A clerk who sends the key a bank used gets a
-- payment of their own (or a conflict with their own earlier one), never the bank's.
--
-- SQLite cannot drop the column's UNIQUE constraint, so it rebuilds payments, and with it
-- payment_allocations, whose foreign key must follow the new table; ids are copied as they are
-- (ledger entries name payments by id). PostgreSQL drops the constraint in place.
{{sqlite}}CREATE TABLE payments_new (
    id {{id}},
    region TEXT NOT NULL,
    payer TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    amount {{big}} NOT NULL,
    paid_on TEXT NOT NULL,
    excess {{big}} NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
{{sqlite}}INSERT INTO payments_new(id, region, payer, idem_key, content_hash, amount, paid_on, excess, recorded_by, recorded_at)
SELECT id, region, payer, idem_key, content_hash, amount, paid_on, excess, recorded_by, recorded_at FROM payments;
{{sqlite}}CREATE TABLE payment_allocations_new (
    payment_id {{big}} NOT NULL REFERENCES payments_new(id),
    bill_id {{big}} NOT NULL REFERENCES bills(id),
    principal {{big}} NOT NULL,
    fee {{big}} NOT NULL,
    PRIMARY KEY (payment_id, bill_id)
);
{{sqlite}}INSERT INTO payment_allocations_new(payment_id, bill_id, principal, fee)
SELECT payment_id, bill_id, principal, fee FROM payment_allocations;
{{sqlite}}DROP TABLE payment_allocations;
{{sqlite}}DROP TABLE payments;
-- Renaming rewrites payment_allocations_new's reference to the new name.
{{sqlite}}ALTER TABLE payments_new RENAME TO payments;
{{sqlite}}ALTER TABLE payment_allocations_new RENAME TO payment_allocations;
{{sqlite}}CREATE INDEX payments_payer ON payments(payer, paid_on);
{{postgres}}ALTER TABLE payments DROP CONSTRAINT payments_idem_key_key;

CREATE UNIQUE INDEX payments_caller_key ON payments(recorded_by, idem_key);
