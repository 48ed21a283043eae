-- Registry: member agencies, routes (data type -> provider adapter), authorizations.
CREATE TABLE agencies (
    id            TEXT PRIMARY KEY NOT NULL,
    display_name  TEXT NOT NULL,
    registered_at INTEGER NOT NULL,
    revoked_at    INTEGER              -- NULL: a member
);

CREATE TABLE routes (
    data_type TEXT PRIMARY KEY NOT NULL,
    provider  TEXT NOT NULL,
    endpoint  TEXT NOT NULL
);

CREATE TABLE authorizations (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    consumer        TEXT NOT NULL,
    data_type       TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    legal_basis     TEXT NOT NULL,
    legal_basis_ref TEXT NOT NULL,
    valid_from      INTEGER NOT NULL,
    valid_until     INTEGER,          -- NULL: open-ended
    revoked_at      INTEGER,          -- NULL: not revoked
    allowed_fields  TEXT NOT NULL,    -- JSON array of JSON pointers; [""] is the whole document
    requires_consent              INTEGER NOT NULL,  -- 0 or 1
    requires_subject_registration INTEGER NOT NULL   -- 0 or 1
);
CREATE INDEX authorizations_lookup ON authorizations (consumer, data_type, purpose);

-- Persons repertory: which consumer has which subject in its files, in which capacity, when.
-- Subjects are stored as their keyed pseudonym (the ledger's HMAC), never as identifiers.
CREATE TABLE subject_registrations (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    consumer          TEXT NOT NULL,
    subject_pseudonym BLOB NOT NULL,
    capacity          TEXT NOT NULL,
    valid_from        INTEGER NOT NULL,
    valid_until       INTEGER,           -- NULL: open-ended
    registered_at     INTEGER NOT NULL,
    ended_at          INTEGER            -- NULL: not ended
);
CREATE INDEX subject_registrations_lookup ON subject_registrations (consumer, subject_pseudonym);

-- Citizen consents, by subject pseudonym.
CREATE TABLE consents (
    id                TEXT PRIMARY KEY NOT NULL,
    subject_pseudonym BLOB NOT NULL,
    consumer          TEXT NOT NULL,
    purposes          TEXT NOT NULL,     -- JSON array
    data_types        TEXT NOT NULL,     -- JSON array
    granted_at        INTEGER NOT NULL,
    valid_until       INTEGER NOT NULL,
    revoked_at        INTEGER,           -- NULL: not revoked
    recorded_by       TEXT NOT NULL
);
CREATE INDEX consents_by_subject ON consents (subject_pseudonym);

-- Ledger: one row per transfer, append-only. `entry` is the canonical encoding (docs/ledger.md),
-- which includes the index; `leaf_hash` is SHA-256(0x00 || entry) as recorded at write time. The
-- other columns copy entry fields for queries; the verifier never trusts them.
CREATE TABLE ledger_entries (
    leaf_index        INTEGER PRIMARY KEY NOT NULL,
    leaf_hash         BLOB NOT NULL,
    entry             BLOB NOT NULL,
    recorded_at       INTEGER NOT NULL,     -- unix microseconds
    consumer          TEXT NOT NULL,
    provider          TEXT NOT NULL,
    data_type         TEXT NOT NULL,
    purpose           TEXT NOT NULL,
    outcome           TEXT NOT NULL,
    subject_pseudonym BLOB NOT NULL
);
CREATE INDEX ledger_entries_by_consumer ON ledger_entries (consumer, leaf_index);
CREATE INDEX ledger_entries_by_provider ON ledger_entries (provider, leaf_index);

-- The subject access log's index. Pseudonyms are random keys, so indexing them in the group
-- commit would dirty one page per entry; a background indexer fills this table instead, and
-- queries scan the not-yet-indexed tail of ledger_entries, so answers stay exact.
CREATE TABLE ledger_subject_index (
    subject_pseudonym BLOB NOT NULL,
    leaf_index        INTEGER NOT NULL,
    PRIMARY KEY (subject_pseudonym, leaf_index)
) WITHOUT ROWID;
CREATE TABLE ledger_subject_index_state (
    singleton       INTEGER PRIMARY KEY CHECK (singleton = 1),
    indexed_through INTEGER NOT NULL     -- entries below this index are in ledger_subject_index
);
INSERT INTO ledger_subject_index_state (singleton, indexed_through) VALUES (1, 0);

-- Hashes of every complete subtree of the Merkle tree (level 0 = leaves); proofs read O(log n)
-- rows. Keyed by the node's in-order ("flat tree") position, index * 2^(level+1) + 2^level - 1,
-- so every node a group commit creates lands at the end of one key range: a commit dirties one
-- or two pages, not one per tree level.
CREATE TABLE ledger_nodes (
    position INTEGER PRIMARY KEY NOT NULL,
    hash     BLOB NOT NULL
);

-- Append-only triggers: a ledger row, once written, is never updated or deleted through SQL.
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;

-- Signed checkpoints (C2SP tlog-checkpoint in a signed note), every one kept.
CREATE TABLE ledger_checkpoints (
    tree_size   INTEGER PRIMARY KEY NOT NULL,
    root_hash   BLOB NOT NULL,
    signed_note TEXT NOT NULL,
    created_at  INTEGER NOT NULL          -- unix microseconds
);
CREATE TRIGGER ledger_checkpoints_no_update BEFORE UPDATE ON ledger_checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER ledger_checkpoints_no_delete BEFORE DELETE ON ledger_checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
