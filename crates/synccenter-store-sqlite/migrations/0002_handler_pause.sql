-- Handlers can be paused by the user until resumed or until a time (issue 5). Both NULL: not paused.
ALTER TABLE handlers ADD COLUMN paused_since INTEGER;
ALTER TABLE handlers ADD COLUMN paused_until INTEGER;
