-- The answers to the benefit API's writes, by the caller's Idempotency-Key: a retry of a
-- registration, a claim, a decision or a run gets the first answer back, status and body, instead
-- of a conflict. The key is the caller's own (as payments' keys are, 0011); the hash is of the
-- request (method, path, body), so the same key sent with other content is refused.
CREATE TABLE benefit_requests (
    caller TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (caller, idem_key)
);
