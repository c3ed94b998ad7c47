-- Bureau staff at a small service window often both prepare and approve (on different
-- applications). A user keeps their primary role in users.role; further roles are listed here.
-- Separation of duties is then checked per user, which is per person.
CREATE TABLE user_roles (
    user_id {{big}} NOT NULL REFERENCES users(id),
    role TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);
