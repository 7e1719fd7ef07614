-- eslab's event store on PostgreSQL: the same tables as eslab/schema.sql (Eventuate
-- Local's names: events, entities, snapshots, processed_messages, plus checkpoints and
-- quarantine), written in PostgreSQL's types.
--
-- position is a BIGSERIAL: its value is taken when the row is INSERTed, and the row
-- becomes visible when its transaction COMMITs. Two transactions can therefore commit
-- in the other order than their positions (T1 takes 7, T2 takes 8, T2 commits first):
-- a reader that polls "position > last seen" can skip 7 for good. One EventStore object
-- serialises its own appends, so its positions follow its commits; several processes
-- on one server do not — that is the race the transaction-log tailer is for.

CREATE TABLE IF NOT EXISTS events (
    position         BIGSERIAL PRIMARY KEY,
    event_id         TEXT      NOT NULL,
    event_type       TEXT      NOT NULL,
    event_data       JSON      NOT NULL,
    entity_type      TEXT      NOT NULL,
    entity_id        TEXT      NOT NULL,
    entity_version   BIGINT    NOT NULL CHECK (entity_version >= 1),
    schema_version   INTEGER   NOT NULL DEFAULT 1,
    triggering_event TEXT,
    metadata         JSON,
    created_at       TIMESTAMP NOT NULL,
    published        BOOLEAN   NOT NULL DEFAULT false,
    -- The optimistic lock: two writers can never both add version N to a stream.
    -- Its index also serves every stream load (entity_type, entity_id, version order).
    CONSTRAINT events_stream_version UNIQUE (entity_type, entity_id, entity_version)
);

-- The polling publisher's question ("what is not yet published?") without a full scan.
CREATE INDEX IF NOT EXISTS events_unpublished ON events (position) WHERE NOT published;

-- Eventuate keeps one row per aggregate. Here it is a view of the log, so it can
-- never disagree with the events (the lock itself is the UNIQUE key above).
CREATE OR REPLACE VIEW entities AS
    SELECT entity_type, entity_id, max(entity_version) AS entity_version
    FROM events GROUP BY entity_type, entity_id;

CREATE TABLE IF NOT EXISTS snapshots (
    entity_type       TEXT      NOT NULL,
    entity_id         TEXT      NOT NULL,
    entity_version    BIGINT    NOT NULL,
    snapshot_type     TEXT      NOT NULL,
    snapshot_version  INTEGER   NOT NULL DEFAULT 1,
    snapshot_json     JSON      NOT NULL,
    triggering_events JSON,
    created_at        TIMESTAMP NOT NULL,
    PRIMARY KEY (entity_type, entity_id, entity_version)
);

CREATE TABLE IF NOT EXISTS processed_messages (
    consumer_id  TEXT      NOT NULL,
    message_id   TEXT      NOT NULL,
    processed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (consumer_id, message_id)
);

-- Where each reader of the log (relay, tailer, projection) got to.
CREATE TABLE IF NOT EXISTS checkpoints (
    name       TEXT      PRIMARY KEY,
    position   BIGINT    NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Rows a reader could not decode, set aside with the reason (see eslab/schema.sql).
CREATE TABLE IF NOT EXISTS quarantine (
    reader         TEXT      NOT NULL,
    position       BIGINT    NOT NULL,
    event_id       TEXT      NOT NULL,
    entity_type    TEXT      NOT NULL,
    entity_id      TEXT      NOT NULL,
    entity_version BIGINT    NOT NULL,
    event_type     TEXT      NOT NULL,
    schema_version INTEGER   NOT NULL,
    error          TEXT      NOT NULL,
    reason         TEXT      NOT NULL,
    first_seen     TIMESTAMP NOT NULL,
    PRIMARY KEY (reader, position)
);
