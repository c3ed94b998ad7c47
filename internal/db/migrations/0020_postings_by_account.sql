-- A personal account's movements (a resident's statement, newest first) are read from the index
-- by account alone: with the amount in it, the latest postings of one account are one range of the
-- index and no posting row is read. Without it each movement is a row of the postings table,
-- written in the month it was posted, far from the account's other movements: at ten years of a
-- city's history that is a page read from disk per movement. The new index serves everything the
-- old one did (its columns begin with the old one's), which goes.
CREATE INDEX ledger_postings_account_amount ON ledger_postings(account, entry_id, amount);
DROP INDEX ledger_postings_account;
