-- The last transaction counter (ATC) the key service accepted from each social security card, so
-- that a card's transaction cryptogram is accepted once: a proof is accepted only with an ATC
-- greater than last_atc, and last_atc moves to it in the settlement's own transaction.
-- card_id is the card identification code (32 upper-case hex digits), whose first six are region.
CREATE TABLE card_transaction_counters (
    region TEXT NOT NULL,
    card_id TEXT NOT NULL,
    last_atc INTEGER NOT NULL CHECK (last_atc BETWEEN 1 AND 65535),
    accepted_at TEXT NOT NULL,
    PRIMARY KEY (region, card_id)
){{without_rowid}};
