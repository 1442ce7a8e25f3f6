-- synccenter SQLite schema, version 1. Never edit this file once released: add a new migration instead.
-- Timestamps are INTEGER microseconds since the Unix epoch; session, event and conflict IDs are TEXT
-- hyphenated lowercase UUIDs (so string order equals UUID byte order); enums are their spec numbers and
-- masks their bits.

CREATE TABLE handlers (
    id                 TEXT    NOT NULL PRIMARY KEY,
    name               TEXT    NOT NULL,
    handler_type       INTEGER NOT NULL,
    type_label         TEXT    NOT NULL,
    comment            TEXT    NOT NULL,
    last_sync_reported INTEGER,
    last_sync_recorded INTEGER,
    active             INTEGER NOT NULL,
    enabled            INTEGER NOT NULL,
    connected          INTEGER NOT NULL,
    hidden             INTEGER NOT NULL,
    capabilities       INTEGER NOT NULL,
    policies           INTEGER NOT NULL,
    retention          TEXT    NOT NULL
) STRICT;

CREATE TABLE items (
    handler_id         TEXT    NOT NULL REFERENCES handlers (id) ON DELETE CASCADE,
    id                 TEXT    NOT NULL,
    name               TEXT    NOT NULL,
    type_label         TEXT    NOT NULL,
    comment            TEXT    NOT NULL,
    last_sync_reported INTEGER,
    last_sync_recorded INTEGER,
    enabled            INTEGER NOT NULL,
    connected          INTEGER NOT NULL,
    hidden             INTEGER NOT NULL,
    capabilities       INTEGER NOT NULL,
    policies           INTEGER NOT NULL,
    PRIMARY KEY (handler_id, id)
) STRICT;

-- Conflicts outlive nothing but their handler; versions and resolution are JSON documents.
CREATE TABLE conflicts (
    id          TEXT    NOT NULL PRIMARY KEY,
    handler_id  TEXT    NOT NULL,
    item_id     TEXT,
    key         TEXT,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL,
    versions    TEXT    NOT NULL,
    abilities   INTEGER NOT NULL,
    detected_at INTEGER NOT NULL,
    resolution  TEXT
) STRICT;

CREATE INDEX conflicts_by_handler ON conflicts (handler_id);

-- Session history, live sessions included (ended_at IS NULL).
CREATE TABLE sessions (
    id         TEXT    NOT NULL PRIMARY KEY,
    handler_id TEXT    NOT NULL,
    owner      INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    manual     INTEGER NOT NULL,
    ended_at   INTEGER,
    end_reason TEXT,
    end_status INTEGER
) STRICT;

CREATE INDEX sessions_by_start ON sessions (started_at DESC, id DESC);
CREATE INDEX sessions_by_handler ON sessions (handler_id, started_at DESC, id DESC);
CREATE INDEX sessions_live ON sessions (id) WHERE ended_at IS NULL;

CREATE TABLE session_items (
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    item_id    TEXT    NOT NULL,
    status     INTEGER,
    step       INTEGER NOT NULL,
    max_step   INTEGER NOT NULL,
    text       TEXT    NOT NULL,
    PRIMARY KEY (session_id, position)
) STRICT;

CREATE INDEX session_items_by_item ON session_items (session_id, item_id);

-- Sync Results, listed newest first by (time, id) with a keyset cursor.
CREATE TABLE events (
    id             TEXT    NOT NULL PRIMARY KEY,
    handler_id     TEXT    NOT NULL,
    item_id        TEXT,
    session_id     TEXT,
    level          INTEGER NOT NULL,
    name           TEXT    NOT NULL,
    description    TEXT    NOT NULL,
    link_text      TEXT,
    link_reference TEXT,
    context        TEXT,
    time           INTEGER NOT NULL
) STRICT;

CREATE INDEX events_by_time ON events (time DESC, id DESC);
CREATE INDEX events_by_handler ON events (handler_id, item_id, time DESC, id DESC);
CREATE INDEX events_by_session ON events (session_id, time DESC, id DESC);
CREATE INDEX events_by_level ON events (level, time DESC, id DESC);
