#!/bin/sh
# Runs a command beside a throwaway PostgreSQL cluster: initdb and pg_ctl from Debian's postgresql
# package in a temporary folder, a Unix socket only, stopped and removed at the end even on failure.
# The command sees SELLERFLOW_TEST_PG, the URI of the cluster's `postgres` database (a superuser
# role `sellerflow`, trust authentication), PG_HARNESS_DIR, the socket's folder, and PG_HARNESS_CTL,
# pg_ctl on the cluster (`$PG_HARNESS_CTL restart`).
# Usage: pg_harness.sh COMMAND [ARG...]. Exits 77 (skipped, for CTest) when no server is installed.
set -u

bin=""
for v in 17 16 15 14 13; do
  if [ -x "/usr/lib/postgresql/$v/bin/initdb" ]; then bin="/usr/lib/postgresql/$v/bin"; break; fi
done
if [ -z "$bin" ]; then
  echo "pg_harness: no PostgreSQL server (install the Debian package 'postgresql'); skipped" >&2
  exit 77
fi

dir=$(mktemp -d /tmp/sf-pg.XXXXXX) || exit 1
# The server refuses to run as root: as root, it runs as an unprivileged user of its own.
run_as=""
if [ "$(id -u)" = 0 ]; then
  run_as=sellerflow-test
  if ! id "$run_as" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$run_as" 2>/dev/null ||
      run_as=nobody
  fi
  chown "$run_as" "$dir"
  chmod 755 "$dir"
fi
as_server() {
  if [ -n "$run_as" ]; then
    runuser -u "$run_as" -- "$@"
  else
    "$@"
  fi
}

stop() {
  as_server "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1
  rm -rf "$dir"
}
trap stop EXIT
trap 'exit 130' INT TERM

if ! as_server "$bin/initdb" -D "$dir/data" -U sellerflow -A trust -E UTF8 --locale=C.UTF-8 \
     >"$dir/initdb.log" 2>&1; then
  echo "pg_harness: initdb failed:" >&2
  cat "$dir/initdb.log" >&2
  exit 1
fi
# No TCP: the socket in $dir is the only way in. fsync off: a throwaway cluster need not survive
# a power cut, and the tests create a database each.
if ! as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
     -o "-c listen_addresses= -c unix_socket_directories=$dir -c fsync=off -c max_connections=200" \
     start >/dev/null; then
  echo "pg_harness: the server did not start:" >&2
  cat "$dir/server.log" >&2
  exit 1
fi

export PG_HARNESS_DIR="$dir"
# For tests that restart the server: `$PG_HARNESS_CTL restart` (pg_ctl as the server's user).
cat >"$dir/ctl" <<CTL
#!/bin/sh
if [ -n "$run_as" ]; then exec runuser -u "$run_as" -- "$bin/pg_ctl" -D "$dir/data" -w "\$@"; fi
exec "$bin/pg_ctl" -D "$dir/data" -w "\$@"
CTL
chmod 755 "$dir/ctl"
export PG_HARNESS_CTL="$dir/ctl"
export SELLERFLOW_TEST_PG="postgresql://sellerflow@/postgres?host=$dir"
"$@"
rc=$?
if [ "$rc" != 0 ] && [ -n "${PG_HARNESS_LOG:-}" ]; then cat "$dir/server.log" >&2; fi
exit "$rc"
