-- Policy versions, and the registry: persons, employers, enrolment applications with their
-- materials, participation intervals, employers' staff and bulk uploads.

-- A policy version is never edited: a change is a new row. status: pending → approved | rejected.
CREATE TABLE policy_versions (
    id {{id}},
    region TEXT NOT NULL,
    effective_from INTEGER NOT NULL,
    body TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    status TEXT NOT NULL,
    proposed_by TEXT NOT NULL,
    proposed_at TEXT NOT NULL,
    reviewed_by TEXT NOT NULL DEFAULT '',
    reviewed_at TEXT NOT NULL DEFAULT '',
    reject_reason TEXT NOT NULL DEFAULT ''
);

CREATE INDEX policy_versions_lookup ON policy_versions(region, status, effective_from);

CREATE TABLE persons (
    id {{id}},
    region TEXT NOT NULL,
    id_number TEXT NOT NULL UNIQUE,
    id_kind TEXT NOT NULL,
    name TEXT NOT NULL,
    gender TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    ethnicity TEXT NOT NULL DEFAULT '',
    -- 'local' when the household registration (户籍) is in this region, else 'non_local'
    hukou_type TEXT NOT NULL,
    hukou_place TEXT NOT NULL DEFAULT '',
    residence_permit TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE INDEX persons_region ON persons(region);

CREATE TABLE employers (
    id {{id}},
    region TEXT NOT NULL,
    uscc TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    legal_rep TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    industry TEXT NOT NULL DEFAULT '',
    risk_class INTEGER NOT NULL CHECK (risk_class BETWEEN 1 AND 8),
    bank_account TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);

CREATE INDEX employers_region ON employers(region);

-- Which person a resident login is, and which employer an HR operator acts for.
ALTER TABLE users ADD COLUMN person_id {{big}} REFERENCES persons(id);
ALTER TABLE users ADD COLUMN employer_id {{big}} REFERENCES employers(id);

CREATE INDEX users_person ON users(person_id);
CREATE INDEX users_employer ON users(employer_id);

-- status: draft → submitted → approved | rejected. The preparer (a clerk) never reviews.
CREATE TABLE enrolments (
    id {{id}},
    region TEXT NOT NULL,
    person_id {{big}} NOT NULL REFERENCES persons(id),
    employer_id {{big}} REFERENCES employers(id),
    category TEXT NOT NULL,
    policy_version {{big}} NOT NULL REFERENCES policy_versions(id),
    start_month INTEGER NOT NULL,
    -- the base a self-insured person chose, in fen; 0 for employees (the employer declares theirs)
    chosen_base {{big}} NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    prepared_by TEXT NOT NULL,
    prepared_at TEXT NOT NULL,
    submitted_at TEXT NOT NULL DEFAULT '',
    reviewed_by TEXT NOT NULL DEFAULT '',
    reviewed_at TEXT NOT NULL DEFAULT '',
    reject_reason TEXT NOT NULL DEFAULT ''
);

CREATE INDEX enrolments_queue ON enrolments(region, status, id);
CREATE INDEX enrolments_person ON enrolments(person_id);

-- An uploaded material. The file is kept in the database so a backup holds everything; the
-- SHA-256 identifies it in the audit log. check: pending → accepted | rejected, by a clerk.
CREATE TABLE materials (
    id {{id}},
    enrolment_id {{big}} NOT NULL REFERENCES enrolments(id),
    code TEXT NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size {{big}} NOT NULL,
    sha256 TEXT NOT NULL,
    data {{bytes}} NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at TEXT NOT NULL,
    check_result TEXT NOT NULL DEFAULT 'pending',
    check_note TEXT NOT NULL DEFAULT '',
    checked_by TEXT NOT NULL DEFAULT '',
    checked_at TEXT NOT NULL DEFAULT ''
);

CREATE INDEX materials_enrolment ON materials(enrolment_id);

-- Participation in one insurance type over a dated interval of months. A row is written once when
-- it opens; closing it fills end_month and end_reason once. It is never otherwise changed.
CREATE TABLE participations (
    id {{id}},
    region TEXT NOT NULL,
    person_id {{big}} NOT NULL REFERENCES persons(id),
    employer_id {{big}} REFERENCES employers(id),
    insurance TEXT NOT NULL,
    start_month INTEGER NOT NULL,
    end_month INTEGER NOT NULL DEFAULT 0,
    end_reason TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE INDEX participations_person ON participations(person_id, insurance);
CREATE INDEX participations_employer ON participations(employer_id, end_month);

-- A person's employment by an employer (增员 opens it, 减员 closes it) with the declared base.
CREATE TABLE staff (
    id {{id}},
    region TEXT NOT NULL,
    employer_id {{big}} NOT NULL REFERENCES employers(id),
    person_id {{big}} NOT NULL REFERENCES persons(id),
    start_month INTEGER NOT NULL,
    base {{big}} NOT NULL,
    end_month INTEGER NOT NULL DEFAULT 0,
    end_date TEXT NOT NULL DEFAULT '',
    end_reason TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);

CREATE INDEX staff_employer ON staff(employer_id, end_month);
CREATE INDEX staff_person ON staff(person_id, end_month);

-- Base changes (调基): from a month on, the declared base is this.
CREATE TABLE staff_bases (
    staff_id {{big}} NOT NULL REFERENCES staff(id),
    from_month INTEGER NOT NULL,
    base {{big}} NOT NULL,
    declared_at TEXT NOT NULL,
    PRIMARY KEY (staff_id, from_month)
);

-- A bulk file applied for an employer. The same file (by SHA-256) applies once.
CREATE TABLE bulk_uploads (
    id {{id}},
    employer_id {{big}} NOT NULL REFERENCES employers(id),
    sha256 TEXT NOT NULL,
    file_name TEXT NOT NULL,
    rows_applied INTEGER NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at TEXT NOT NULL,
    UNIQUE (employer_id, sha256)
);
