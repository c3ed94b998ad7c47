-- Social security cards, their history, production batches, service outlets, the electronic card's
-- single-use QR tokens, and the bank-issued medical insurance cards.

CREATE TABLE outlets (
    code TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT ''
);

CREATE TABLE card_batches (
    id {{id}},
    region TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    -- sent: the manufacturer file was made; produced: its result file was imported
    state TEXT NOT NULL,
    cards INTEGER NOT NULL,
    result_sha256 TEXT NOT NULL DEFAULT ''
);

CREATE TABLE cards (
    id {{id}},
    region TEXT NOT NULL,
    person_id {{big}} NOT NULL REFERENCES persons(id),
    -- 'social_security', or 'temporary' (60 days, no bank function)
    kind TEXT NOT NULL,
    application_no TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    channel TEXT NOT NULL,
    applied_by TEXT NOT NULL,
    applied_at TEXT NOT NULL,
    state_at TEXT NOT NULL,
    card_number TEXT UNIQUE,
    card_id TEXT UNIQUE,
    chip_serial TEXT NOT NULL DEFAULT '',
    atr TEXT NOT NULL DEFAULT '',
    key_version INTEGER NOT NULL DEFAULT 0,
    batch_id {{big}} REFERENCES card_batches(id),
    outlet TEXT REFERENCES outlets(code),
    valid_until TEXT NOT NULL DEFAULT '',
    replaces_id {{big}} REFERENCES cards(id),
    -- argon2id of the PIN set at activation; the chip holds the PIN itself
    pin_hash TEXT NOT NULL DEFAULT '',
    pin_tries_left INTEGER NOT NULL DEFAULT 0,
    -- the holder's photo for the card face (JPEG or PNG), required before approval
    photo {{bytes}},
    photo_type TEXT NOT NULL DEFAULT '',
    photo_sha256 TEXT NOT NULL DEFAULT '',
    bank_account TEXT NOT NULL DEFAULT '',
    bank_activated_at TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT ''
);

CREATE INDEX cards_person ON cards(person_id);
CREATE INDEX cards_region_state ON cards(region, state);
-- At most one live social security card per person: a partial unique index that both engines
-- enforce, whatever the code does.
CREATE UNIQUE INDEX cards_one_live ON cards(person_id)
    WHERE kind = 'social_security' AND state IN ('applied', 'approved', 'in_production', 'produced', 'at_outlet', 'collected', 'active', 'temporarily_lost');

CREATE TABLE card_events (
    id {{id}},
    card_id {{big}} NOT NULL REFERENCES cards(id),
    action TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL
);

CREATE INDEX card_events_card ON card_events(card_id, id);

CREATE TABLE card_sequence (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last {{big}} NOT NULL
);

INSERT INTO card_sequence(id, last) VALUES (1, 0);

CREATE TABLE ecards (
    card_id {{big}} PRIMARY KEY REFERENCES cards(id),
    signed_up_at TEXT NOT NULL
);

-- A QR token can be used once: its nonce is recorded when it is.
CREATE TABLE ecard_scans (
    nonce TEXT PRIMARY KEY,
    card_id {{big}} NOT NULL,
    scanned_by TEXT NOT NULL,
    scanned_at TEXT NOT NULL
);

CREATE TABLE medical_cards (
    id {{id}},
    region TEXT NOT NULL,
    person_id {{big}} NOT NULL REFERENCES persons(id),
    bank TEXT NOT NULL,
    card_number TEXT NOT NULL,
    state TEXT NOT NULL,
    issued_by TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    state_at TEXT NOT NULL,
    UNIQUE (bank, card_number)
);

CREATE INDEX medical_cards_person ON medical_cards(person_id);
