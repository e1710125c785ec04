#!/bin/sh
# Runs once, when the database container initialises its data directory: creates
# the login role the servers use. It cannot bypass row-level security; the
# migrations grant it what it needs.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE tessera_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE
    PASSWORD '$(cat /run/secrets/tessera_app_password)';
SQL
