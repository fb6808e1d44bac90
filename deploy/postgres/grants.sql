-- What the aggregator role may do in the store. Run as the owner after every
-- `hitech store migrate` (a migration may add a table):
--   psql "postgres://hitech_owner@/hitech?host=/run/postgresql" -f deploy/postgres/grants.sql
--   (another role name: -v aggregator=NAME)
--
-- The history tables refuse UPDATE, DELETE and TRUNCATE for every role through their triggers;
-- these grants also keep the aggregator from changing the schema, the registry (bases, keys,
-- central principals: the owner's commands) or anything it has stored.
\set ON_ERROR_STOP on
\if :{?aggregator}
\else
  \set aggregator hitech_aggregator
\endif

-- Reading: receipts and revisions, the registry and keys (admitting connections), rounds and
-- notices, arrival status, the arrival log, the audit log, the schema version.
GRANT SELECT ON ALL TABLES IN SCHEMA public TO :"aggregator";

-- History, append-only: INSERT only.
--   submissions, submission_bytes, report_revisions, findings, audit_log: every Submit;
--   round_steps, round_notices, audit_log: every round step the coordinator applies;
--   arrival_events: written by the triggers on submissions and round_steps (they run as the
--   inserting role);
--   log_entries, log_subtrees: the submissions log, appended with every stored revision;
--   log_tree_heads, log_signing_keys: the tree heads it signs and the keys it signs with
--   (proto-schemas/RECEIPTS.md; retiring a key is the owner's `hitech receipt retire-key`).
GRANT INSERT ON submissions, submission_bytes, report_revisions, findings, audit_log,
  round_steps, round_notices, arrival_events,
  log_entries, log_subtrees, log_tree_heads, log_signing_keys TO :"aggregator";

-- Row ids, event sequences and accession numbers (nextval only; setval needs UPDATE, which
-- only the owner has, for `hitech store copy`).
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO :"aggregator";

-- UPDATE where the schema keeps current state rather than history:
--   rounds: the aggregator's view of each year's round (state, late policy, deadline, the
--     coordinator's latest copy), replaced by each round step (INSERT ... ON CONFLICT DO UPDATE,
--     and SELECT ... FOR UPDATE to serialise two steps of one round, which needs UPDATE);
--   reporters: at start the daemon seeds the built-in catalogue of the 47 reporters, writing
--     only when a new version of the software changed it (INSERT ... ON CONFLICT DO UPDATE).
GRANT INSERT, UPDATE ON rounds, reporters TO :"aggregator";

-- Applications (proto-schemas/APPLICATIONS.md) filed by the nodes through the aggregator:
--   application_revisions, application_submissions, application_history: history, INSERT only;
--   applications: the current state and latest revision of each (INSERT, UPDATE on a correction
--   or a withdrawal). Calls, experts, evaluations, decisions and the registry changes a
--   recognition makes are the evaluating office's, recorded with the owner's commands.
GRANT INSERT ON application_revisions, application_submissions, application_history TO :"aggregator";
GRANT INSERT, UPDATE ON applications TO :"aggregator";

-- registry_generation: one number the triggers on the registry and rounds raise with every
-- write to them (so every aggregator knows when its copy in memory is stale); the writes above
-- to rounds and reporters raise it, as the aggregator role.
GRANT INSERT, UPDATE ON registry_generation TO :"aggregator";
