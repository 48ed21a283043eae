-- Rule changes in the ledger (docs/ledger.md, "The rules in force, replayed"). Every change to
-- the rules (agencies, routes, purposes, authorizations, consents, subject registrations) runs in
-- ONE transaction that applies it, takes the next governance sequence from governance_state and
-- puts its encoded `governance` entry into governance_outbox. The ledger writer moves outbox rows
-- into ledger_entries (kind 2), before the transfers of its batch, and deletes them from the
-- outbox in the same transaction.

-- One row: the sequence of the newest rule change (0: none yet). `UPDATE ... SET sequence =
-- sequence + 1 RETURNING sequence` both numbers a change and serialises concurrent ones.
CREATE TABLE governance_state (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    sequence  INTEGER NOT NULL
);
INSERT INTO governance_state (singleton, sequence) VALUES (1, 0);

-- Rule changes committed but not yet in the tree: the entry encoded with leaf index 0.
CREATE TABLE governance_outbox (
    outbox_id INTEGER PRIMARY KEY AUTOINCREMENT,
    sequence  INTEGER NOT NULL UNIQUE,
    entry     BLOB NOT NULL
);

-- The entry's kind (docs/ledger.md: 1 transfer, 2 governance, ...); every earlier row is a
-- transfer. Governance rows carry their sequence; they leave the transfer columns empty.
ALTER TABLE ledger_entries ADD COLUMN kind INTEGER NOT NULL DEFAULT 1;
ALTER TABLE ledger_entries ADD COLUMN governance_sequence INTEGER;
CREATE UNIQUE INDEX ledger_entries_by_governance_sequence ON ledger_entries (governance_sequence)
    WHERE governance_sequence IS NOT NULL;
