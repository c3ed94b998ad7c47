-- The double-entry ledger. Postings are immutable; a correction is a reversing entry. Balances
-- are kept beside the postings in the same transaction and proved equal to their sums by
-- `shebao ledger check`.

CREATE TABLE ledger_accounts (
    code TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    kind TEXT NOT NULL,
    -- 'debit' for assets (receivables, the bank clearing account), 'credit' for what is owed
    -- (personal accounts, pooled funds)
    normal TEXT NOT NULL,
    -- a personal account may never go below zero
    no_overdraft BOOLEAN NOT NULL,
    balance {{big}} NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE TABLE ledger_entries (
    id {{id}},
    region TEXT NOT NULL,
    idem_key TEXT NOT NULL UNIQUE,
    -- SHA-256 of the entry's content, so a retry with the same key but other content is refused
    content_hash TEXT NOT NULL,
    cause TEXT NOT NULL,
    cause_ref TEXT NOT NULL,
    at TEXT NOT NULL,
    reverses {{big}} REFERENCES ledger_entries(id)
);

-- An entry is reversed at most once.
CREATE UNIQUE INDEX ledger_entries_reverses ON ledger_entries(reverses) WHERE reverses IS NOT NULL;
CREATE INDEX ledger_entries_cause ON ledger_entries(cause, cause_ref);

-- amount > 0 is a debit, amount < 0 a credit; an entry's amounts sum to zero.
CREATE TABLE ledger_postings (
    entry_id {{big}} NOT NULL REFERENCES ledger_entries(id),
    account TEXT NOT NULL REFERENCES ledger_accounts(code),
    amount {{big}} NOT NULL,
    PRIMARY KEY (entry_id, account)
);

CREATE INDEX ledger_postings_account ON ledger_postings(account, entry_id);
