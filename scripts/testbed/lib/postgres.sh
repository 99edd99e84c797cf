# PostgreSQL for the pg state backend (issue 14): the server from Debian's
# packages, one throw-away cluster on a loopback port, database `terraform`.
# Terraform's pg backend keeps the state in a table and locks with advisory
# locks: https://developer.hashicorp.com/terraform/language/backend/pg

# The newest installed server's bin directory (Debian: /usr/lib/postgresql/<major>/bin).
pg_bin_dir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

ensure_postgres() {
  pg_bin_dir >/dev/null && return 0
  command -v apt-get >/dev/null 2>&1 || die "PostgreSQL is missing and apt-get is not available; install the postgresql package"
  run_step "install postgresql (Debian package)" "$CACHE_DIR/logs/apt-postgresql.log" \
    bash -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql'
  pg_bin_dir >/dev/null || die "postgresql installed but no /usr/lib/postgresql/*/bin/initdb (see $CACHE_DIR/logs/apt-postgresql.log)"
}

# start_postgres: initdb, start, create the database; writes $TESTBED_DIR/postgres/conn_str.
start_postgres() {
  ensure_postgres
  local bin d="$TESTBED_DIR/postgres" port
  bin=$(pg_bin_dir)
  port=$(free_port)
  mkdir -p "$d"
  # As the postgres user when we are root (the server refuses to run as root).
  local -a as=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$d"
    as=(setpriv --reuid=postgres --regid=postgres --init-groups --)
  fi
  "${as[@]}" "$bin/initdb" -D "$d/data" -U postgres -A trust --no-sync >"$TESTBED_DIR/logs/postgres-initdb.log" 2>&1 \
    || die "initdb failed (see $TESTBED_DIR/logs/postgres-initdb.log)"
  # fsync off: the test bed keeps nothing worth a crash-safe write.
  start_daemon postgres "$TESTBED_DIR/logs/postgres.log" \
    "${as[@]}" "$bin/postgres" -D "$d/data" -p "$port" -k "$d" -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off
  local i
  for i in $(seq 1 150); do
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" && break
    running "$(cat "$TESTBED_DIR/pids/postgres.pid")" || die "postgres exited (see $TESTBED_DIR/logs/postgres.log)"
    sleep 0.2
  done
  "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" || die "postgres did not accept connections on 127.0.0.1:$port in 30 s (see $TESTBED_DIR/logs/postgres.log)"
  "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres terraform || die "createdb terraform failed"
  echo "postgres://postgres@127.0.0.1:$port/terraform?sslmode=disable" >"$d/conn_str"
  log "postgres $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, database terraform"
}
