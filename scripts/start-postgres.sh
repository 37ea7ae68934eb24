#!/usr/bin/env bash
# Starts a throwaway local PostgreSQL for the test suite when Debian's server binaries are installed.
# Data lives in .pgdata/ (recreated on every run; a previous instance is stopped first), the server
# listens on 127.0.0.1 at a random free port with a random password, and the SQLAlchemy URL goes to
# .pg-test-url (mode 600). Without a server it says so and exits 0: the PostgreSQL tests then skip.
# Stop it with: scripts/start-postgres.sh stop
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
DATA="$ROOT/.pgdata"
rm -f .pg-test-url

BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ] || [ ! -x "$BIN/pg_ctl" ]; then
  echo "start-postgres: no PostgreSQL server installed; PostgreSQL tests will skip" >&2
  exit 0
fi

# initdb refuses to run as root: as root, run the server as the postgres system user.
if [ "$(id -u)" = 0 ]; then
  if ! id postgres >/dev/null 2>&1; then
    echo "start-postgres: running as root and there is no postgres user; PostgreSQL tests will skip" >&2
    exit 0
  fi
  run() { runuser -u postgres -- "$@"; }
else
  run() { "$@"; }
fi

if [ -f "$DATA/db/postmaster.pid" ]; then
  run "$BIN/pg_ctl" -D "$DATA/db" -m immediate -w stop >/dev/null 2>&1 || true
fi
[ "${1:-}" = "stop" ] && { rm -rf "$DATA"; exit 0; }
rm -rf "$DATA"
mkdir -p "$DATA"
chmod 700 "$DATA"
[ "$(id -u)" = 0 ] && chown postgres: "$DATA"

PASSWORD="$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
run sh -c "umask 077; printf '%s\n' '$PASSWORD' > '$DATA/.pwfile'"

if ! run "$BIN/initdb" -D "$DATA/db" -U cnsec --auth=scram-sha-256 --pwfile="$DATA/.pwfile" \
      -E UTF8 --no-locale >"$DATA/initdb.log" 2>&1; then
  echo "start-postgres: initdb failed (see $DATA/initdb.log); PostgreSQL tests will skip" >&2
  exit 0
fi
run rm -f "$DATA/.pwfile"
if ! run "$BIN/pg_ctl" -D "$DATA/db" -l "$DATA/server.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DATA -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null; then
  echo "start-postgres: the server did not start (see $DATA/server.log); PostgreSQL tests will skip" >&2
  exit 0
fi
umask 077
printf 'postgresql+psycopg://cnsec:%s@127.0.0.1:%s/postgres\n' "$PASSWORD" "$PORT" > .pg-test-url
echo "start-postgres: PostgreSQL on 127.0.0.1:$PORT (data in .pgdata/)" >&2
