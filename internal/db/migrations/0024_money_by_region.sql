-- The money's tables by region (docs/scale.md, "Regions as shards"). Every row of contributions,
-- payments and the ledger names its pooling region, and on PostgreSQL every key of theirs holds
-- it, so that Citus can shard them by region and keep one region's bills, lines, payments,
-- entries and postings together on one worker: a contribution run, a payment or a settlement's
-- entry is then one shard's transaction. The lines, allocations and postings take the region of
-- the bill, payment and entry they belong to.
--
-- SQLite keeps its single-column keys: one file is a city's database, not a shard, and an id unique
-- in the file is stricter than one unique in its region. It gains the one small unique index the
-- business code names in ON CONFLICT (the accounts' code and region), so that the SQL is the same
-- on both engines.
--
-- On a Citus coordinator the tables of regional business that already carry the region in their
-- keys are distributed by region as well, all in one co-location group, so that a join or a
-- transaction within one region never leaves its worker.
ALTER TABLE contribution_lines ADD COLUMN region TEXT NOT NULL DEFAULT '';
UPDATE contribution_lines SET region = (SELECT b.region FROM bills b WHERE b.id = contribution_lines.bill_id);
ALTER TABLE payment_allocations ADD COLUMN region TEXT NOT NULL DEFAULT '';
UPDATE payment_allocations SET region = (SELECT p.region FROM payments p WHERE p.id = payment_allocations.payment_id);
ALTER TABLE ledger_postings ADD COLUMN region TEXT NOT NULL DEFAULT '';
UPDATE ledger_postings SET region = (SELECT e.region FROM ledger_entries e WHERE e.id = ledger_postings.entry_id);

{{sqlite}}CREATE UNIQUE INDEX ledger_accounts_code_region ON ledger_accounts(code, region);

-- PostgreSQL: the code writes the region; no default hides a row written without it.
{{postgres}}ALTER TABLE contribution_lines ALTER COLUMN region DROP DEFAULT;
{{postgres}}ALTER TABLE payment_allocations ALTER COLUMN region DROP DEFAULT;
{{postgres}}ALTER TABLE ledger_postings ALTER COLUMN region DROP DEFAULT;

-- The foreign keys go first: they are made again below with the region, after the keys they
-- point at have it (and, on Citus, after the tables are distributed, as Citus requires).
{{postgres}}ALTER TABLE contribution_lines DROP CONSTRAINT contribution_lines_bill_id_fkey;
{{postgres}}ALTER TABLE payment_allocations DROP CONSTRAINT payment_allocations_bill_id_fkey;
{{postgres}}ALTER TABLE payment_allocations DROP CONSTRAINT payment_allocations_payment_id_fkey;
{{postgres}}ALTER TABLE ledger_postings DROP CONSTRAINT ledger_postings_account_fkey;
{{postgres}}ALTER TABLE ledger_postings DROP CONSTRAINT ledger_postings_entry_id_fkey;
{{postgres}}ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_reverses_fkey;

-- The region comes last in each key: Citus asks only that it be there, and the queries that read
-- by id, bill, person or account keep the indexes they have.
{{postgres}}ALTER TABLE bills DROP CONSTRAINT bills_pkey;
{{postgres}}ALTER TABLE bills ADD PRIMARY KEY (id, region);
{{postgres}}ALTER TABLE contribution_lines DROP CONSTRAINT contribution_lines_pkey;
{{postgres}}ALTER TABLE contribution_lines ADD PRIMARY KEY (person_id, month, bill_id, region);
{{postgres}}ALTER TABLE payments DROP CONSTRAINT payments_pkey;
{{postgres}}ALTER TABLE payments ADD PRIMARY KEY (id, region);
{{postgres}}DROP INDEX payments_caller_key;
{{postgres}}CREATE UNIQUE INDEX payments_caller_key ON payments(recorded_by, idem_key, region);
{{postgres}}ALTER TABLE payment_allocations DROP CONSTRAINT payment_allocations_pkey;
{{postgres}}ALTER TABLE payment_allocations ADD PRIMARY KEY (payment_id, bill_id, region);
{{postgres}}ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_pkey;
{{postgres}}ALTER TABLE ledger_accounts ADD PRIMARY KEY (code, region);
{{postgres}}ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_pkey;
{{postgres}}ALTER TABLE ledger_entries ADD PRIMARY KEY (id, region);
{{postgres}}ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_idem_key_key;
{{postgres}}ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_idem_key_key UNIQUE (idem_key, region);
{{postgres}}DROP INDEX ledger_entries_reverses;
{{postgres}}CREATE UNIQUE INDEX ledger_entries_reverses ON ledger_entries(reverses, region) WHERE reverses IS NOT NULL;
{{postgres}}ALTER TABLE ledger_postings DROP CONSTRAINT ledger_postings_pkey;
{{postgres}}ALTER TABLE ledger_postings ADD PRIMARY KEY (entry_id, account, region);
{{postgres}}ALTER TABLE transfer_messages DROP CONSTRAINT transfer_messages_pkey;
{{postgres}}ALTER TABLE transfer_messages ADD PRIMARY KEY (id, region);

-- Citus: the regional tables whose keys all start with the region, by region, in the default
-- co-location group (same shard count, same column type: every table distributed this way joins
-- it). Distributing copies any rows already there into the shards.
{{citus}}SELECT create_distributed_table('bills', 'region');
{{citus}}SELECT create_distributed_table('contribution_lines', 'region');
{{citus}}SELECT create_distributed_table('payments', 'region');
{{citus}}SELECT create_distributed_table('payment_allocations', 'region');
{{citus}}SELECT create_distributed_table('ledger_accounts', 'region');
{{citus}}SELECT create_distributed_table('ledger_entries', 'region');
{{citus}}SELECT create_distributed_table('ledger_postings', 'region');
{{citus}}SELECT create_distributed_table('contribution_runs', 'region');
{{citus}}SELECT create_distributed_table('restated_months', 'region');
{{citus}}SELECT create_distributed_table('institutions', 'region');
{{citus}}SELECT create_distributed_table('settlements', 'region');
{{citus}}SELECT create_distributed_table('settlement_items', 'region');
{{citus}}SELECT create_distributed_table('settlement_sequence', 'region');
{{citus}}SELECT create_distributed_table('medical_years', 'region');
{{citus}}SELECT create_distributed_table('clearings', 'region');
{{citus}}SELECT create_distributed_table('reconciliations', 'region');
{{citus}}SELECT create_distributed_table('card_transaction_counters', 'region');
{{citus}}SELECT create_distributed_table('unemployment_registrations', 'region');
{{citus}}SELECT create_distributed_table('unemployment_claims', 'region');
{{citus}}SELECT create_distributed_table('benefit_payments', 'region');
{{citus}}SELECT create_distributed_table('benefit_runs', 'region');
{{citus}}SELECT create_distributed_table('benefit_sequence', 'region');
{{citus}}SELECT create_distributed_table('retirement_group_changes', 'region');
{{citus}}SELECT create_distributed_table('certificates', 'region');
{{citus}}SELECT create_distributed_table('certificate_sequence', 'region');
{{citus}}SELECT create_distributed_table('transfer_messages', 'region');
{{citus}}SELECT create_distributed_table('transfer_inbox', 'region');

{{postgres}}ALTER TABLE contribution_lines ADD CONSTRAINT contribution_lines_bill_id_fkey
    FOREIGN KEY (bill_id, region) REFERENCES bills(id, region);
{{postgres}}ALTER TABLE payment_allocations ADD CONSTRAINT payment_allocations_bill_id_fkey
    FOREIGN KEY (bill_id, region) REFERENCES bills(id, region);
{{postgres}}ALTER TABLE payment_allocations ADD CONSTRAINT payment_allocations_payment_id_fkey
    FOREIGN KEY (payment_id, region) REFERENCES payments(id, region);
{{postgres}}ALTER TABLE ledger_postings ADD CONSTRAINT ledger_postings_account_fkey
    FOREIGN KEY (account, region) REFERENCES ledger_accounts(code, region);
{{postgres}}ALTER TABLE ledger_postings ADD CONSTRAINT ledger_postings_entry_id_fkey
    FOREIGN KEY (entry_id, region) REFERENCES ledger_entries(id, region);
{{postgres}}ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_reverses_fkey
    FOREIGN KEY (reverses, region) REFERENCES ledger_entries(id, region);
