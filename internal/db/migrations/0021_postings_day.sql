-- A posting carries the UTC date of its entry (yyyymmdd), in the index an account's movements are
-- read from. A statement of one year asks for the postings dated in that year; without the date in
-- the index every posting of the account had to be joined to its entry to read the entry's time,
-- ten years of them for a year's twelve. The date narrows the index range to the span's days, and
-- only those postings are joined for their exact time. `ledger.Check` proves every posting's date
-- is its entry's.
ALTER TABLE ledger_postings ADD COLUMN at_day INTEGER;
UPDATE ledger_postings SET at_day = (SELECT CAST(substr(e.at, 1, 4) || substr(e.at, 6, 2) || substr(e.at, 9, 2) AS INTEGER)
    FROM ledger_entries e WHERE e.id = ledger_postings.entry_id);
CREATE INDEX ledger_postings_account_day ON ledger_postings(account, entry_id, amount, at_day);
DROP INDEX ledger_postings_account_amount;
