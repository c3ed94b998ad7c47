-- A monthly run's heartbeat: every batch it commits stamps beat_at, so a run that stopped beating
-- (killed, crashed, its machine gone) shows as interrupted instead of running for ever. payers is
-- how many payers the month has, for the progress shown beside the bills counted.
ALTER TABLE contribution_runs ADD COLUMN beat_at TEXT NOT NULL DEFAULT '';
ALTER TABLE contribution_runs ADD COLUMN payers INTEGER NOT NULL DEFAULT 0;
