-- Certificates (参保证明, SPEC 3.7): each one issued, its data exactly as signed and the signature,
-- so the public verification page checks the bureau's own record and a presented copy is compared
-- with it byte for byte. Region in every key (SPEC 6.4).
CREATE TABLE certificates (
    region TEXT NOT NULL,
    serial TEXT NOT NULL,
    -- 'person' or 'employer'
    kind TEXT NOT NULL,
    -- whom it is of, masked: "person:3301**********1234" or "employer:<USCC>"
    subject TEXT NOT NULL,
    data TEXT NOT NULL,
    signature TEXT NOT NULL,
    key_version INTEGER NOT NULL,
    data_sha256 TEXT NOT NULL,
    issued_by TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    PRIMARY KEY (region, serial)
);

CREATE TABLE certificate_sequence (
    region TEXT NOT NULL,
    year INTEGER NOT NULL,
    last {{big}} NOT NULL,
    PRIMARY KEY (region, year)
);
