#!/bin/sh
# A throwaway PostgreSQL from Debian's package, for tests and `cargo xtask cluster`.
#   pg-temp.sh start DIR PORT [PID]
#                               initdb in DIR, start on 127.0.0.1:PORT, print the URL; with PID,
#                               the server stops by itself when that process ends
#   pg-temp.sh stop DIR         stop it at once
#   pg-temp.sh resume DIR PORT  start a stopped one again on its data
# initdb refuses to run as root, so as root it runs as the postgres user in a DIR made theirs.
set -eu
cmd=$1
dir=$2
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bin" ] || { echo "pg-temp: PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 3; }
as=""
if [ "$(id -u)" = 0 ]; then as="runuser -u postgres --"; fi
case "$cmd" in
start)
  port=$3
  mkdir -p "$dir"
  [ -z "$as" ] || chown postgres "$dir"
  $as "$bin/initdb" -D "$dir/data" -A trust -U consult -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  $as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }
  if [ "${4:-}" ]; then
    watched=$4
    ( while kill -0 "$watched" 2>/dev/null; do sleep 1; done
      $as "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1; rm -rf "$dir" ) </dev/null >/dev/null 2>&1 &
  fi
  echo "postgres://consult@127.0.0.1:$port/postgres"
  ;;
stop)
  $as "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  ;;
resume)
  # Starts a stopped server again on its data (tests that take the database away and back).
  port=$3
  $as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }
  ;;
*)
  echo "usage: pg-temp.sh start DIR PORT [PID] | stop DIR | resume DIR PORT" >&2
  exit 2
  ;;
esac
