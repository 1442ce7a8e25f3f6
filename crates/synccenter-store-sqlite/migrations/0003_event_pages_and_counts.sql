-- Fast `events.list` pages and totals with a large history (issue 8). Never edit this file once released.
--
-- A handler's events, and one item's, are read newest first straight from an index that also holds the
-- level, so a page needs no sort and a level filter needs no table row (the old handler index put item_id
-- before time, so a handler's page sorted all of its events).
DROP INDEX events_by_handler;
CREATE INDEX events_by_handler ON events (handler_id, time DESC, id DESC, level);
CREATE INDEX events_by_item ON events (handler_id, item_id, time DESC, id DESC, level);

-- How many events each handler, item ('' for handler-level events; item IDs are never empty) and level has,
-- kept by triggers in the same transaction as the events themselves, so a total is a sum over a few rows
-- instead of a count over up to every event.
CREATE TABLE event_counts (
    handler_id TEXT    NOT NULL,
    item_key   TEXT    NOT NULL,
    level      INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (handler_id, item_key, level)
) STRICT, WITHOUT ROWID;

INSERT INTO event_counts (handler_id, item_key, level, n)
    SELECT handler_id, coalesce(item_id, ''), level, count(*) FROM events GROUP BY 1, 2, 3;

CREATE TRIGGER events_count_insert AFTER INSERT ON events BEGIN
    INSERT INTO event_counts (handler_id, item_key, level, n)
        VALUES (new.handler_id, coalesce(new.item_id, ''), new.level, 1)
        ON CONFLICT (handler_id, item_key, level) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER events_count_delete AFTER DELETE ON events BEGIN
    UPDATE event_counts SET n = n - 1
        WHERE handler_id = old.handler_id AND item_key = coalesce(old.item_id, '') AND level = old.level;
END;

-- The store rewrites an event with an upsert (an INSERT OR REPLACE would delete without firing the trigger
-- above), so a rewrite that changes the handler, item or level moves its count.
CREATE TRIGGER events_count_update AFTER UPDATE OF handler_id, item_id, level ON events BEGIN
    UPDATE event_counts SET n = n - 1
        WHERE handler_id = old.handler_id AND item_key = coalesce(old.item_id, '') AND level = old.level;
    INSERT INTO event_counts (handler_id, item_key, level, n)
        VALUES (new.handler_id, coalesce(new.item_id, ''), new.level, 1)
        ON CONFLICT (handler_id, item_key, level) DO UPDATE SET n = n + 1;
END;
