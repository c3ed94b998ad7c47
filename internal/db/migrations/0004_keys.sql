-- The key service. Nothing here is plaintext key material: the master key exists only in the
-- memory of an unsealed server, formed from custodians' components; every stored key is wrapped
-- (SM4-GCM) under the key above it.

-- One row: how the master key is formed and how to recognise it (its key check value).
CREATE TABLE keystore (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    -- 'production', or 'development' for a demo database whose master key is public
    mode TEXT NOT NULL,
    components INTEGER NOT NULL,
    master_kcv TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);

-- Which custodian holds which component, and the component's check value, so that a wrong
-- component is refused when it is entered rather than after all are in.
CREATE TABLE key_components (
    idx INTEGER PRIMARY KEY,
    custodian TEXT NOT NULL,
    kcv TEXT NOT NULL
);

CREATE TABLE keys (
    id {{id}},
    region TEXT NOT NULL,
    purpose TEXT NOT NULL,
    version INTEGER NOT NULL,
    algorithm TEXT NOT NULL,
    kcv TEXT NOT NULL,
    -- nonce ‖ SM4-GCM ciphertext under the parent key (the master key when parent_id is NULL)
    wrapped {{bytes}} NOT NULL,
    parent_id {{big}} REFERENCES keys(id),
    -- active → retired (still verifies cards issued under it) → destroyed (material erased)
    status TEXT NOT NULL,
    public_key TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    request_id {{big}},
    UNIQUE (region, purpose, version)
);

-- Dual control: a request to generate, rotate, export or destroy issuer keys, carried out when
-- enough distinct custodians other than the requester have approved it.
CREATE TABLE key_requests (
    id {{id}},
    region TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    approvals_required INTEGER NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    status TEXT NOT NULL,
    done_at TEXT NOT NULL DEFAULT '',
    -- for an export: the key encrypted to the recipient's SM2 public key (safe to store)
    result TEXT NOT NULL DEFAULT ''
);

CREATE TABLE key_approvals (
    request_id {{big}} NOT NULL REFERENCES key_requests(id),
    custodian TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    PRIMARY KEY (request_id, custodian)
);
