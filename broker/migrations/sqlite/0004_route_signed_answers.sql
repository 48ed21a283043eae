-- Signed answers: a route may require that the adapter signs its answers (docs/ledger.md,
-- "Signed answers"). When set, an unsigned answer is refused (refused.unsigned_answer); an
-- invalid signature is refused whatever the route says. Existing routes do not require it.
ALTER TABLE routes ADD COLUMN signed_answers_required INTEGER NOT NULL DEFAULT 0; -- 0 or 1
