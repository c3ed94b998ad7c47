-- The group a person's statutory retirement age follows (SPEC 3.6): men; women in cadre posts
-- (and women who insure themselves as flexible workers); other women. Empty means "as the gender
-- and insurance say"; a clerk records another group with a reason, kept in the history below.
ALTER TABLE persons ADD COLUMN retirement_group TEXT NOT NULL DEFAULT '';

CREATE TABLE retirement_group_changes (
    region TEXT NOT NULL,
    person_id {{big}} NOT NULL,
    changed_at TEXT NOT NULL,
    from_group TEXT NOT NULL,
    to_group TEXT NOT NULL,
    reason TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    PRIMARY KEY (region, person_id, changed_at)
);
