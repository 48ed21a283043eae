-- Purposes: codes the operator registers (Registry.RegisterPurpose), each with a description.
-- Authorizations name a registered code; Exchange.Fetch refuses a purpose that is not one.
-- A code matches ^[a-z0-9][a-z0-9._-]{0,63}$ (checked by the broker, `registry::PurposeCode`).
CREATE TABLE purposes (
    code          TEXT PRIMARY KEY NOT NULL,
    description   TEXT NOT NULL,
    registered_at INTEGER NOT NULL   -- unix seconds
);

-- The upgrade: every purpose an existing authorization names is registered, so the database
-- keeps working, if it is a valid code. A purpose that is not a valid code is not registered:
-- its authorizations stay (for the record) but no request can use them; the operator registers
-- a valid code and grants anew. The broker logs their number at start.
-- (GLOB: starts with [a-z0-9], and no character outside [a-z0-9._-]; length counts characters.)
INSERT INTO purposes (code, description, registered_at)
SELECT DISTINCT purpose,
       'registered by the upgrade to registered purposes: named by an authorization granted before',
       CAST(strftime('%s', 'now') AS INTEGER)
FROM authorizations
WHERE length(purpose) BETWEEN 1 AND 64
  AND purpose GLOB '[a-z0-9]*'
  AND purpose NOT GLOB '*[^a-z0-9._-]*';
