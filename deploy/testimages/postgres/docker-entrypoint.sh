#!/usr/bin/env bash
# Entrypoint of backpack-test/postgres:15 (TEST ONLY). It starts Debian's PostgreSQL the way the
# official postgres image does, for everything deploy/platform.yml and the tests rely on:
#
# - POSTGRES_USER (default postgres), POSTGRES_DB (default: the user) and POSTGRES_PASSWORD,
#   each also readable from a file named by the same variable with _FILE (Docker secrets);
# - on first start (no PGDATA/PG_VERSION), initdb in PGDATA, the database created, scripts in
#   /docker-entrypoint-initdb.d (*.sh, *.sql) run;
# - listens on all addresses; remote clients authenticate with POSTGRES_HOST_AUTH_METHOD
#   (default scram-sha-256; md5 and trust work too), local socket clients are trusted;
# - started as root it prepares PGDATA, then runs as postgres; postgres runs in the foreground
#   as PID 1 (exec), so Docker's stop signal reaches it.
set -euo pipefail

log() { echo "docker-entrypoint: $*" >&2; }

# file_env VAR: when VAR_FILE is set, VAR becomes that file's content (without the trailing
# newline, as `openssl rand … | docker secret create` leaves one).
file_env() {
  local var=$1 file_var="$1_FILE"
  if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
    log "both $var and $file_var are set; set one"
    exit 1
  fi
  if [ -n "${!file_var:-}" ]; then
    export "$var=$(<"${!file_var}")"
  fi
}

# init_cluster creates the cluster in PGDATA with the user, password and database asked for.
init_cluster() {
  file_env POSTGRES_USER
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_DB
  local user=${POSTGRES_USER:-postgres}
  local db=${POSTGRES_DB:-$user}
  local auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
    log "the database is not initialised and no password is set: set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE (or POSTGRES_HOST_AUTH_METHOD=trust)"
    exit 1
  fi

  log "initialising $PGDATA (user $user, database $db, remote auth $auth)"
  # The password reaches initdb on stdin, never on a command line.
  local pwargs=()
  if [ -n "${POSTGRES_PASSWORD:-}" ]; then
    pwargs=(--pwfile=/dev/stdin)
  fi
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of arguments, as in the official image
  initdb -D "$PGDATA" --username="$user" "${pwargs[@]}" --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host="$auth" ${POSTGRES_INITDB_ARGS:-} \
    <<<"${POSTGRES_PASSWORD:-}" >/dev/null
  printf '\n# Added by docker-entrypoint.sh: clients on other hosts.\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"

  # A server on the socket only, for creating the database and running the init scripts.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  local psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --username "$user")
  if [ "$db" != postgres ]; then
    "${psql[@]}" --dbname postgres --set db="$db" <<<'CREATE DATABASE :"db";'
  fi
  local f
  shopt -s nullglob
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) log "running $f"; PGUSER=$user PGDATABASE=$db bash "$f" ;;
      *.sql) log "running $f"; "${psql[@]}" --dbname "$db" -f "$f" ;;
      *) log "ignoring $f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  log "initialised"
}

# No arguments, or flags alone, mean postgres, as with the official image:
# `docker run IMAGE -c log_statement=all`.
if [ $# -eq 0 ] || [ "${1:0:1}" = - ]; then
  set -- postgres "$@"
fi

if [ "$1" = postgres ]; then
  if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA"
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
  fi
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    init_cluster
  fi
fi
exec "$@"
