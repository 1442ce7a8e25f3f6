-- synccenter PostgreSQL schema, version 1 (fleet mode). Once released this file is never edited; changes
-- come as new migrations.
--
-- Many hosts share the database: every row names the host whose daemon wrote it, and a daemon's `Store`
-- sees only its own host's rows. Keys a host chooses itself (handler and item IDs) are unique per host;
-- session, event and conflict IDs are UUIDs, unique across the fleet.
--
-- Model times are BIGINT microseconds since the Unix epoch, taken from the writing host's clock and kept bit
-- for bit. Fleet bookkeeping (hosts, requests) uses TIMESTAMPTZ from the server's clock, the one clock
-- every host agrees on. Enums are stored as their spec numbers, masks as their bits. Text keys use the "C"
-- collation so that ORDER BY is byte order, as in the other backends.

CREATE TABLE hosts (
    host       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    started_at TIMESTAMPTZ      NOT NULL,
    seen_at    TIMESTAMPTZ      NOT NULL,
    down_since TIMESTAMPTZ,
    version    TEXT             NOT NULL
);

CREATE TABLE handlers (
    host               TEXT COLLATE "C" NOT NULL,
    id                 TEXT COLLATE "C" NOT NULL,
    name               TEXT    NOT NULL,
    handler_type       BIGINT  NOT NULL,
    type_label         TEXT    NOT NULL,
    comment            TEXT    NOT NULL,
    last_sync_reported BIGINT,
    last_sync_recorded BIGINT,
    active             BOOLEAN NOT NULL,
    enabled            BOOLEAN NOT NULL,
    connected          BOOLEAN NOT NULL,
    hidden             BOOLEAN NOT NULL,
    capabilities       BIGINT  NOT NULL,
    policies           BIGINT  NOT NULL,
    retention          TEXT    NOT NULL,
    paused_since       BIGINT,
    paused_until       BIGINT,
    PRIMARY KEY (host, id)
);

CREATE TABLE items (
    host               TEXT COLLATE "C" NOT NULL,
    handler_id         TEXT COLLATE "C" NOT NULL,
    id                 TEXT COLLATE "C" NOT NULL,
    name               TEXT    NOT NULL,
    type_label         TEXT    NOT NULL,
    comment            TEXT    NOT NULL,
    last_sync_reported BIGINT,
    last_sync_recorded BIGINT,
    enabled            BOOLEAN NOT NULL,
    connected          BOOLEAN NOT NULL,
    hidden             BOOLEAN NOT NULL,
    capabilities       BIGINT  NOT NULL,
    policies           BIGINT  NOT NULL,
    PRIMARY KEY (host, handler_id, id),
    FOREIGN KEY (host, handler_id) REFERENCES handlers (host, id) ON DELETE CASCADE
);

-- Versions and the recorded resolution are JSON documents (see codec.rs).
CREATE TABLE conflicts (
    id          UUID             NOT NULL PRIMARY KEY,
    host        TEXT COLLATE "C" NOT NULL,
    handler_id  TEXT COLLATE "C" NOT NULL,
    item_id     TEXT COLLATE "C",
    key         TEXT,
    name        TEXT   NOT NULL,
    description TEXT   NOT NULL,
    versions    JSONB  NOT NULL,
    abilities   BIGINT NOT NULL,
    detected_at BIGINT NOT NULL,
    resolution  JSONB
);

CREATE INDEX conflicts_by_host ON conflicts (host, handler_id, id);

-- Every session, live (ended_at IS NULL) or ended.
CREATE TABLE sessions (
    id         UUID             NOT NULL PRIMARY KEY,
    host       TEXT COLLATE "C" NOT NULL,
    handler_id TEXT COLLATE "C" NOT NULL,
    owner      BIGINT  NOT NULL,
    started_at BIGINT  NOT NULL,
    manual     BOOLEAN NOT NULL,
    ended_at   BIGINT,
    end_reason TEXT,
    end_status BIGINT
);

CREATE INDEX sessions_by_host ON sessions (host, started_at DESC, id DESC);
CREATE INDEX sessions_by_host_handler ON sessions (host, handler_id, started_at DESC, id DESC);
CREATE INDEX sessions_live ON sessions (host, id) WHERE ended_at IS NULL;
CREATE INDEX sessions_fleet ON sessions (started_at DESC, id DESC);

-- Members of a session in the order they joined. Reached through their session only, so keyed by it; the
-- host column repeats the session's.
CREATE TABLE session_items (
    session_id UUID             NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    position   INTEGER          NOT NULL,
    host       TEXT COLLATE "C" NOT NULL,
    item_id    TEXT COLLATE "C" NOT NULL,
    status     BIGINT,
    step       BIGINT NOT NULL,
    max_step   BIGINT NOT NULL,
    text       TEXT   NOT NULL,
    PRIMARY KEY (session_id, position)
);

CREATE INDEX session_items_by_item ON session_items (session_id, item_id);

-- Sync Results, listed newest first by (time, id) with a keyset cursor.
CREATE TABLE events (
    id             UUID             NOT NULL PRIMARY KEY,
    host           TEXT COLLATE "C" NOT NULL,
    handler_id     TEXT COLLATE "C" NOT NULL,
    item_id        TEXT COLLATE "C",
    session_id     UUID,
    level          BIGINT NOT NULL,
    name           TEXT   NOT NULL,
    description    TEXT   NOT NULL,
    link_text      TEXT,
    link_reference TEXT,
    context        TEXT,
    time           BIGINT NOT NULL
);

CREATE INDEX events_by_host ON events (host, time DESC, id DESC);
CREATE INDEX events_by_host_handler ON events (host, handler_id, item_id, time DESC, id DESC);
CREATE INDEX events_by_host_session ON events (host, session_id, time DESC, id DESC);
CREATE INDEX events_by_host_level ON events (host, level, time DESC, id DESC);
CREATE INDEX events_fleet ON events (time DESC, id DESC);

-- Remote control: a call one host makes on another host's daemon (stop a session it runs...). The target
-- is woken by NOTIFY synccenter_requests (payload: the target host) and answers by setting done_at and
-- result, then NOTIFY synccenter_done (payload: the request ID).
CREATE TABLE requests (
    id          BIGSERIAL        NOT NULL PRIMARY KEY,
    target_host TEXT COLLATE "C" NOT NULL,
    from_host   TEXT COLLATE "C" NOT NULL,
    method      TEXT        NOT NULL,
    params      JSONB       NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    done_at     TIMESTAMPTZ,
    result      JSONB
);

CREATE INDEX requests_pending ON requests (target_host, id) WHERE done_at IS NULL;
