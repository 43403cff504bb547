#!/bin/sh
# Runs once, when the data directory is created: the appliance's and the payment service's roles and
# databases, with the names and passwords from their own Secrets (psql quotes them: :"name", :'value').
set -eu
secrets=/run/secrets/postgresql
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v lb_user="$(cat "$secrets/lb-user")" \
    -v lb_db="$(cat "$secrets/lb-db")" \
    -v lb_password="$(cat "$secrets/lb-password")" \
    -v payment_user="$(cat "$secrets/payment-user")" \
    -v payment_db="$(cat "$secrets/payment-db")" \
    -v payment_password="$(cat "$secrets/payment-password")" <<'SQL'
CREATE ROLE :"lb_user" LOGIN PASSWORD :'lb_password';
CREATE DATABASE :"lb_db" OWNER :"lb_user";
CREATE ROLE :"payment_user" LOGIN PASSWORD :'payment_password';
CREATE DATABASE :"payment_db" OWNER :"payment_user";
SQL
