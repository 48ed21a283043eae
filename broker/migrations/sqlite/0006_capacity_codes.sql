-- Capacities in the persons repertory are code tokens now, ^[a-z0-9][a-z0-9._-]{0,63}$ (checked
-- by the broker, `registry::Capacity`), never a consumer's free text, which may have named or
-- described the person, and the broker stores new ones as keyed digests (64 hex digits,
-- `SubjectPseudonymizer::capacity_digest`; SQL cannot compute them, it has no secret). The
-- upgrade replaces every stored capacity that is not a code token by
-- the code `unspecified`: the registration stays in force (Exchange.Fetch checks the consumer,
-- the subject and the period, never the capacity), and UnregisterSubject with an empty capacity
-- still ends it. Free pages of the database file may hold the old text until SQLite reuses them;
-- `VACUUM` rewrites the file (it cannot run inside a migration's transaction).
-- (GLOB: starts with [a-z0-9], and no character outside [a-z0-9._-]; length counts characters.)
UPDATE subject_registrations
SET capacity = 'unspecified'
WHERE NOT (length(capacity) BETWEEN 1 AND 64
           AND capacity GLOB '[a-z0-9]*'
           AND capacity NOT GLOB '*[^a-z0-9._-]*');
