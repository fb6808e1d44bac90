-- The aggregators' database and its two roles. Run once, as a superuser:
--   sudo -u postgres psql -f deploy/postgres/roles.sql
--   (names: -v owner=hitech_owner -v aggregator=hitech_aggregator -v database=hitech)
-- then give each role a password in psql (never in a file): \password hitech_owner
--
-- - the owner owns the database and its schema: it runs `hitech store migrate` (and
--   `hitech store copy`), the registry, key and round commands, and deploy/postgres/grants.sql;
-- - the aggregator role is what every `hitech aggregator run` logs in as: it can read the store
--   and append to its history, and nothing else (see grants.sql for each grant and why).
\set ON_ERROR_STOP on
\if :{?owner}
\else
  \set owner hitech_owner
\endif
\if :{?aggregator}
\else
  \set aggregator hitech_aggregator
\endif
\if :{?database}
\else
  \set database hitech
\endif

CREATE ROLE :"owner" LOGIN;
CREATE ROLE :"aggregator" LOGIN;
CREATE DATABASE :"database" OWNER :"owner" ENCODING 'UTF8';

\connect :"database"
-- Only the owner creates objects (PostgreSQL 15 does this by default; older servers do not).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"database" TO :"aggregator";
GRANT USAGE ON SCHEMA public TO :"aggregator";
