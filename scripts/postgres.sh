#!/usr/bin/env bash
# Prints a DATABASE_URL for a running PostgreSQL, for the store's tests and examples.
#
# With DATABASE_URL set, prints it unchanged. Otherwise makes sure a local server runs
# on 127.0.0.1:5432, installing Debian's `postgresql` package and creating a cluster if
# the machine has none (this needs root), and creates the database
# `workspace_lifecycle_test`. Progress goes to stderr; stdout is only the URL.
set -euo pipefail

if [ -n "${DATABASE_URL:-}" ]; then
    echo "$DATABASE_URL"
    exit 0
fi

say() { echo "postgres.sh: $*" >&2; }
ready() { pg_isready -q -h 127.0.0.1 -p 5432 >/dev/null 2>&1; }

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
        say "PostgreSQL is not installed and installing needs root; set DATABASE_URL instead"
        exit 1
    fi
    say "installing PostgreSQL from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
fi

if ! ready; then
    version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)"
    if [ -z "$version" ]; then
        version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
        say "creating cluster $version/main"
        pg_createcluster "$version" main >&2
    fi
    say "starting cluster $version/main"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
    for _ in $(seq 1 30); do
        ready && break
        sleep 1
    done
fi
if ! ready; then
    say "PostgreSQL did not come up on 127.0.0.1:5432"
    exit 1
fi

as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}
# Debian's default cluster asks TCP logins for a password; give the postgres role one.
as_postgres psql -q -h /var/run/postgresql -U postgres -c "alter role postgres password 'postgres'" >&2 2>/dev/null \
    || as_postgres psql -q -U postgres -c "alter role postgres password 'postgres'" >&2 2>/dev/null \
    || say "could not set the postgres role's password; assuming the server trusts local logins"
url="postgres://postgres:postgres@127.0.0.1:5432"
if ! psql "$url/postgres" -Atqc "select 1 from pg_database where datname = 'workspace_lifecycle_test'" | grep -q 1; then
    psql "$url/postgres" -qc "create database workspace_lifecycle_test" >&2
fi
echo "$url/workspace_lifecycle_test"
