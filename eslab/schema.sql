-- eslab's event store on DuckDB. The names follow Eventuate Local's tables as
-- the book prints them (events, entities, snapshots) plus the book's
-- PROCESSED_MESSAGES, and what a teaching store needs on top:
--   * position        a global, increasing number (the order of the whole log);
--   * entity_version  1, 2, 3 … per stream (Eventuate stores the last event id);
--   * schema_version  the event's schema version, for upcasting;
--   * created_at      when it was appended (UTC);
--   * published       the outbox flag the polling publisher reads.

CREATE SEQUENCE IF NOT EXISTS events_position START 1;

CREATE TABLE IF NOT EXISTS events (
    -- position and event_id are unique by construction (a sequence, random UUIDs).
    -- They carry no index of their own: each index costs seconds per million rows
    -- in bulk loads (measured in bench/), and nothing looks rows up by them.
    position         BIGINT    NOT NULL DEFAULT nextval('events_position'),
    event_id         VARCHAR   NOT NULL,
    event_type       VARCHAR   NOT NULL,
    event_data       JSON      NOT NULL,
    entity_type      VARCHAR   NOT NULL,
    entity_id        VARCHAR   NOT NULL,
    entity_version   BIGINT    NOT NULL CHECK (entity_version >= 1),
    schema_version   INTEGER   NOT NULL DEFAULT 1,
    triggering_event VARCHAR,
    metadata         JSON,
    created_at       TIMESTAMP NOT NULL,
    published        BOOLEAN   NOT NULL DEFAULT false,
    -- The optimistic lock: two writers can never both add version N to a stream.
    UNIQUE (entity_type, entity_id, entity_version)
);

-- DuckDB does not use the composite UNIQUE index for lookups; this one it does.
CREATE INDEX IF NOT EXISTS events_by_entity ON events (entity_id);

-- Eventuate keeps one row per aggregate. Here it is a view of the log, so it can
-- never disagree with the events (the lock itself is the UNIQUE key above).
CREATE OR REPLACE VIEW entities AS
    SELECT entity_type, entity_id, max(entity_version) AS entity_version
    FROM events GROUP BY entity_type, entity_id;

CREATE TABLE IF NOT EXISTS snapshots (
    entity_type       VARCHAR   NOT NULL,
    entity_id         VARCHAR   NOT NULL,
    entity_version    BIGINT    NOT NULL,
    snapshot_type     VARCHAR   NOT NULL,
    snapshot_version  INTEGER   NOT NULL DEFAULT 1,
    snapshot_json     JSON      NOT NULL,
    triggering_events JSON,
    created_at        TIMESTAMP NOT NULL,
    PRIMARY KEY (entity_type, entity_id, entity_version)
);

CREATE TABLE IF NOT EXISTS processed_messages (
    consumer_id  VARCHAR   NOT NULL,
    message_id   VARCHAR   NOT NULL,
    processed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (consumer_id, message_id)
);

-- Where each reader of the log (relay, tailer, projection) got to.
CREATE TABLE IF NOT EXISTS checkpoints (
    name       VARCHAR   PRIMARY KEY,
    position   BIGINT    NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Rows a reader (a relay, a projector, a consumer) could not decode: bad JSON, an
-- unknown event type, fields that do not fit the class. The reader sets the row aside
-- here with the reason and goes on, so one bad row does not stop every other stream.
-- The event itself stays in events, untouched (fix the class or add an upcaster).
CREATE TABLE IF NOT EXISTS quarantine (
    reader         VARCHAR   NOT NULL,  -- who found it: the relay's or projection's name
    position       BIGINT    NOT NULL,  -- the row in events
    event_id       VARCHAR   NOT NULL,
    entity_type    VARCHAR   NOT NULL,
    entity_id      VARCHAR   NOT NULL,
    entity_version BIGINT    NOT NULL,
    event_type     VARCHAR   NOT NULL,
    schema_version INTEGER   NOT NULL,
    error          VARCHAR   NOT NULL,  -- the error class, e.g. UnknownEventTypeError
    reason         VARCHAR   NOT NULL,  -- its message: what is wrong, what to do
    first_seen     TIMESTAMP NOT NULL,
    PRIMARY KEY (reader, position)
);
