-- Transfers between regions (转移接续, SPEC 3.8). The transfer is the one business that touches two
-- regions, so it is two records, one in each region, that talk only by messages: every table here
-- has the region it belongs to first in its key, and no transaction writes two regions' rows (the
-- national person record excepted: its region is handed over by the receiving region's step).

-- The receiving region's side: the application, made in the region the person moves to (B).
CREATE TABLE transfers_in (
    region TEXT NOT NULL,
    no TEXT NOT NULL,
    from_region TEXT NOT NULL,
    person_id {{big}} NOT NULL REFERENCES persons(id),
    status TEXT NOT NULL,
    applied_by TEXT NOT NULL,
    applied_at TEXT NOT NULL,
    accepted_by TEXT NOT NULL DEFAULT '',
    accepted_at TEXT NOT NULL DEFAULT '',
    credited_at TEXT NOT NULL DEFAULT '',
    done_at TEXT NOT NULL DEFAULT '',
    refused_at TEXT NOT NULL DEFAULT '',
    refusal TEXT NOT NULL DEFAULT '',
    -- what arrived, as the sending region computed and approved it
    temporary_account BOOLEAN NOT NULL DEFAULT FALSE,
    pension_account {{big}} NOT NULL DEFAULT 0,
    pension_pooled {{big}} NOT NULL DEFAULT 0,
    medical_account {{big}} NOT NULL DEFAULT 0,
    pension_months INTEGER NOT NULL DEFAULT 0,
    medical_months INTEGER NOT NULL DEFAULT 0,
    unemployment_months INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (region, no)
);

CREATE INDEX transfers_in_person ON transfers_in(person_id);
CREATE INDEX transfers_in_queue ON transfers_in(region, status, no);

-- The sending region's side (A): what it computed, its reviewer's decision, the money sent.
CREATE TABLE transfers_out (
    region TEXT NOT NULL,
    no TEXT NOT NULL,
    to_region TEXT NOT NULL,
    person_id {{big}} NOT NULL REFERENCES persons(id),
    status TEXT NOT NULL,
    received_at TEXT NOT NULL,
    computed_at TEXT NOT NULL,
    approved_by TEXT NOT NULL DEFAULT '',
    approved_at TEXT NOT NULL DEFAULT '',
    done_at TEXT NOT NULL DEFAULT '',
    refused_at TEXT NOT NULL DEFAULT '',
    refusal TEXT NOT NULL DEFAULT '',
    temporary_account BOOLEAN NOT NULL DEFAULT FALSE,
    pension_account {{big}} NOT NULL DEFAULT 0,
    pension_pooled {{big}} NOT NULL DEFAULT 0,
    pooled_bases {{big}} NOT NULL DEFAULT 0,
    medical_account {{big}} NOT NULL DEFAULT 0,
    pension_months INTEGER NOT NULL DEFAULT 0,
    medical_months INTEGER NOT NULL DEFAULT 0,
    unemployment_months INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (region, no)
);

CREATE INDEX transfers_out_person ON transfers_out(person_id);
CREATE INDEX transfers_out_queue ON transfers_out(region, status, no);

-- Each region's outbox: the messages it sends to other regions, written in the transaction of the
-- step that sends them and delivered afterwards, oldest first.
CREATE TABLE transfer_messages (
    id {{id}},
    region TEXT NOT NULL,
    to_region TEXT NOT NULL,
    transfer_no TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    delivered_at TEXT NOT NULL DEFAULT ''
);

CREATE INDEX transfer_messages_pending ON transfer_messages(delivered_at, id);

-- Each region's inbox: the messages it has taken in, so that a message delivered twice (the
-- sender stopped before it recorded the delivery) is acted on once.
CREATE TABLE transfer_inbox (
    region TEXT NOT NULL,
    from_region TEXT NOT NULL,
    message_id {{big}} NOT NULL,
    transfer_no TEXT NOT NULL,
    kind TEXT NOT NULL,
    taken_at TEXT NOT NULL,
    PRIMARY KEY (region, from_region, message_id)
);

-- The contribution months a region took over from another by a transfer, month by month, so that
-- they count for pension eligibility and unemployment duration there like months paid there; a
-- pension month keeps its base, which a later transfer onwards counts in the pooled part again.
CREATE TABLE transferred_months (
    region TEXT NOT NULL,
    person_id {{big}} NOT NULL REFERENCES persons(id),
    insurance TEXT NOT NULL,
    month INTEGER NOT NULL,
    base {{big}} NOT NULL DEFAULT 0,
    transfer_no TEXT NOT NULL,
    PRIMARY KEY (region, person_id, insurance, month)
);
