-- The PostgreSQL twin of migrations/sqlite/0006_capacity_codes.sql: the same change. Where the
-- dialects differ: the code check is a regular expression instead of GLOBs.

-- Capacities in the persons repertory are code tokens now, ^[a-z0-9][a-z0-9._-]{0,63}$ (checked
-- by the broker, `registry::Capacity`), never a consumer's free text, which may have named or
-- described the person, and the broker stores new ones as keyed digests (64 hex digits,
-- `SubjectPseudonymizer::capacity_digest`; SQL cannot compute them, it has no secret). The
-- upgrade replaces every stored capacity that is not a code token by
-- the code `unspecified`: the registration stays in force (Exchange.Fetch checks the consumer,
-- the subject and the period, never the capacity), and UnregisterSubject with an empty capacity
-- still ends it. Old row versions stay in the table's pages until VACUUM reclaims them.
UPDATE subject_registrations
SET capacity = 'unspecified'
WHERE capacity !~ '^[a-z0-9][a-z0-9._-]{0,63}$';
