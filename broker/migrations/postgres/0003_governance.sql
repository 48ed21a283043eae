-- The PostgreSQL twin of migrations/sqlite/0003_governance.sql: the same tables, columns and
-- meaning. Where the dialects differ: INTEGER is BIGINT, BLOB is BYTEA, the outbox id is an
-- identity column. The row lock `UPDATE governance_state ...` takes serialises rule changes
-- across every node sharing the database.

CREATE TABLE governance_state (
    singleton BIGINT PRIMARY KEY CHECK (singleton = 1),
    sequence  BIGINT NOT NULL
);
INSERT INTO governance_state (singleton, sequence) VALUES (1, 0);

CREATE TABLE governance_outbox (
    outbox_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sequence  BIGINT NOT NULL UNIQUE,
    entry     BYTEA NOT NULL
);

ALTER TABLE ledger_entries ADD COLUMN kind BIGINT NOT NULL DEFAULT 1;
ALTER TABLE ledger_entries ADD COLUMN governance_sequence BIGINT;
CREATE UNIQUE INDEX ledger_entries_by_governance_sequence ON ledger_entries (governance_sequence)
    WHERE governance_sequence IS NOT NULL;
