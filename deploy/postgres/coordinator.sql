-- The coordinators' role and schema in the aggregators' database (deploy/postgres/roles.sql).
-- Run once, as a superuser, after roles.sql:
--   sudo -u postgres psql -d hitech -f deploy/postgres/coordinator.sql
--   (names: -v coordinator=hitech_coordinator)
-- then give the role a password in psql (never in a file): \password hitech_coordinator
--
-- The active and the standby `hitech coordinator run` log in as this role. It owns a schema of
-- its own, `coordinator`, first on its search_path: the coordinator creates its tables there at
-- its first start (coordinator_*, hitech_coordinator_migrations) and can touch nothing of the
-- aggregators' (it has no grant on their tables). Its leadership is a session advisory lock,
-- which needs no grant.
\set ON_ERROR_STOP on
\if :{?coordinator}
\else
  \set coordinator hitech_coordinator
\endif

CREATE ROLE :"coordinator" LOGIN;
GRANT CONNECT ON DATABASE :"DBNAME" TO :"coordinator";
CREATE SCHEMA coordinator AUTHORIZATION :"coordinator";
ALTER ROLE :"coordinator" IN DATABASE :"DBNAME" SET search_path = coordinator;
