-- The PostgreSQL twin of migrations/sqlite/0001_registry_and_ledger.sql: the same tables,
-- columns and meaning. Where the dialects differ:
--   * INTEGER (64-bit in SQLite) is BIGINT; BLOB is BYTEA;
--   * AUTOINCREMENT keys are identity columns;
--   * flags stay 0/1 integers (the broker reads both backends with one set of queries);
--   * append-only triggers call a PL/pgSQL function instead of RAISE(ABORT).

-- Registry: member agencies, routes (data type -> provider adapter), authorizations.
CREATE TABLE agencies (
    id            TEXT PRIMARY KEY NOT NULL,
    display_name  TEXT NOT NULL,
    registered_at BIGINT NOT NULL,
    revoked_at    BIGINT               -- NULL: a member
);

CREATE TABLE routes (
    data_type TEXT PRIMARY KEY NOT NULL,
    provider  TEXT NOT NULL,
    endpoint  TEXT NOT NULL
);

CREATE TABLE authorizations (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consumer        TEXT NOT NULL,
    data_type       TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    legal_basis     TEXT NOT NULL,
    legal_basis_ref TEXT NOT NULL,
    valid_from      BIGINT NOT NULL,
    valid_until     BIGINT,           -- NULL: open-ended
    revoked_at      BIGINT,           -- NULL: not revoked
    allowed_fields  TEXT NOT NULL,    -- JSON array of JSON pointers; [""] is the whole document
    requires_consent              BIGINT NOT NULL CHECK (requires_consent IN (0, 1)),
    requires_subject_registration BIGINT NOT NULL CHECK (requires_subject_registration IN (0, 1))
);
CREATE INDEX authorizations_lookup ON authorizations (consumer, data_type, purpose);

-- Persons repertory: which consumer has which subject in its files, in which capacity, when.
-- Subjects are stored as their keyed pseudonym (the ledger's HMAC), never as identifiers.
CREATE TABLE subject_registrations (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consumer          TEXT NOT NULL,
    subject_pseudonym BYTEA NOT NULL,
    capacity          TEXT NOT NULL,
    valid_from        BIGINT NOT NULL,
    valid_until       BIGINT,            -- NULL: open-ended
    registered_at     BIGINT NOT NULL,
    ended_at          BIGINT             -- NULL: not ended
);
CREATE INDEX subject_registrations_lookup ON subject_registrations (consumer, subject_pseudonym);

-- Citizen consents, by subject pseudonym.
CREATE TABLE consents (
    id                TEXT PRIMARY KEY NOT NULL,
    subject_pseudonym BYTEA NOT NULL,
    consumer          TEXT NOT NULL,
    purposes          TEXT NOT NULL,     -- JSON array
    data_types        TEXT NOT NULL,     -- JSON array
    granted_at        BIGINT NOT NULL,
    valid_until       BIGINT NOT NULL,
    revoked_at        BIGINT,            -- NULL: not revoked
    recorded_by       TEXT NOT NULL
);
CREATE INDEX consents_by_subject ON consents (subject_pseudonym);

-- Ledger: one row per transfer, append-only (see the SQLite twin for the column meanings).
CREATE TABLE ledger_entries (
    leaf_index        BIGINT PRIMARY KEY NOT NULL,
    leaf_hash         BYTEA NOT NULL,
    entry             BYTEA NOT NULL,
    recorded_at       BIGINT NOT NULL,      -- unix microseconds
    consumer          TEXT NOT NULL,
    provider          TEXT NOT NULL,
    data_type         TEXT NOT NULL,
    purpose           TEXT NOT NULL,
    outcome           TEXT NOT NULL,
    subject_pseudonym BYTEA NOT NULL
);
CREATE INDEX ledger_entries_by_consumer ON ledger_entries (consumer, leaf_index);
CREATE INDEX ledger_entries_by_provider ON ledger_entries (provider, leaf_index);

CREATE TABLE ledger_subject_index (
    subject_pseudonym BYTEA NOT NULL,
    leaf_index        BIGINT NOT NULL,
    PRIMARY KEY (subject_pseudonym, leaf_index)
);
CREATE TABLE ledger_subject_index_state (
    singleton       BIGINT PRIMARY KEY CHECK (singleton = 1),
    indexed_through BIGINT NOT NULL
);
INSERT INTO ledger_subject_index_state (singleton, indexed_through) VALUES (1, 0);

CREATE TABLE ledger_nodes (
    position BIGINT PRIMARY KEY NOT NULL,
    hash     BYTEA NOT NULL
);

CREATE TABLE ledger_checkpoints (
    tree_size   BIGINT PRIMARY KEY NOT NULL,
    root_hash   BYTEA NOT NULL,
    signed_note TEXT NOT NULL,
    created_at  BIGINT NOT NULL           -- unix microseconds
);

-- PostgreSQL only: several broker nodes share this database. Each node makes its transfers'
-- entries durable here first (in its own group commit); the one node holding the sequencer's
-- advisory lock moves them into ledger_entries, assigning indices, and records which queued
-- entry got which index in ledger_sequenced, where the waiting node finds its receipts.
CREATE TABLE ledger_queue (
    queue_id    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node        TEXT NOT NULL,       -- the node that queued it (diagnostics)
    entry       BYTEA NOT NULL,      -- the canonical encoding with leaf_index 0, re-encoded when sequenced
    queued_at   BIGINT NOT NULL      -- unix microseconds
);
-- Every queued row is deleted within milliseconds: vacuum the queue after a few thousand dead
-- rows instead of a fraction of the table, or the sequencer's scans wade through dead tuples.
ALTER TABLE ledger_queue SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,
                              autovacuum_vacuum_cost_delay = 0);
CREATE TABLE ledger_sequenced (
    queue_id   BIGINT PRIMARY KEY NOT NULL,
    leaf_index BIGINT NOT NULL UNIQUE REFERENCES ledger_entries (leaf_index),
    leaf_hash  BYTEA NOT NULL     -- the receipt, so the waiting node reads this table alone
);

-- Append-only: a ledger row, once written, is never updated or deleted through SQL.
CREATE FUNCTION kruispunt_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION kruispunt_refuse_change();
CREATE TRIGGER ledger_checkpoints_append_only BEFORE UPDATE OR DELETE ON ledger_checkpoints
    FOR EACH ROW EXECUTE FUNCTION kruispunt_refuse_change();
CREATE TRIGGER ledger_sequenced_append_only BEFORE UPDATE OR DELETE ON ledger_sequenced
    FOR EACH ROW EXECUTE FUNCTION kruispunt_refuse_change();
