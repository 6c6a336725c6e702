#!/usr/bin/env bash
# `make test`: set up, lint, install the addon with demo data in a throwaway
# database, run the tests (pytest-odoo) on it, smoke-test the HTTP server on it,
# drop it. Exits non-zero on any failure, on any skipped test and when no test ran.
#
#   PYTEST_ARGS="-k plain -x" make test      extra pytest arguments
#   KEEP_DB=1 make test                      keep the throwaway database (for debugging)
set -euo pipefail
SECONDS=0
_t0=$SECONDS
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
. "$ROOT/scripts/lib.sh"
PHASE_NAMES+=("setup") PHASE_SECS+=($((SECONDS - _t0)))
printf '%s<== setup: %ss%s\n' "$BOLD" $((SECONDS - _t0)) "$OFF" >&2

DB="sps_test_$(date +%Y%m%d_%H%M%S)_$$"
LOGDIR="$ROOT/var/log/$DB"
mkdir -p "$LOGDIR"
server_pid=""

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ -n ${KEEP_DB:-} ]]; then
    echo "[test] KEEP_DB set: database $DB kept" >&2
  else
    drop_db "$DB" || echo "[test] could not drop database $DB" >&2
  fi
  phases_report
  if ((rc == 0)); then
    rm -rf "$LOGDIR"
    printf '%s[test] PASSED%s\n' "$GREEN" "$OFF" >&2
  else
    printf '%s[test] FAILED (exit %s)%s logs: %s\n' "$RED" "$rc" "$OFF" "$LOGDIR" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cd "$ROOT"

# --- lint: cheap, so first -----------------------------------------------------
phase "lint: ruff"
"$VENV/bin/ruff" check --no-fix "$MODULE" tests

phase "lint: pylint-odoo"
"$VENV/bin/pylint" --rcfile="$ROOT/.pylintrc" "$MODULE"

# --- install with demo data, in a fresh database ---------------------------------
phase "install $MODULE (demo data)"
echo "[test] database $DB" >&2
if ! odoo -d "$DB" -i "$MODULE" --stop-after-init --log-level=info >"$LOGDIR/install.log" 2>&1; then
  tail -n 40 "$LOGDIR/install.log" >&2
  echo "[test] installing $MODULE failed (log: $LOGDIR/install.log)" >&2
  exit 1
fi
check_odoo_log "$LOGDIR/install.log"
[[ $(module_state "$DB" "$MODULE") == installed ]] || { echo "[test] $MODULE is not installed in $DB" >&2; exit 1; }
[[ $(pg_query "$DB" "SELECT demo FROM ir_module_module WHERE name = %s" "$MODULE") == True ]] \
  || { echo "[test] $MODULE was installed without demo data" >&2; exit 1; }
echo "[test] installed with demo data, log clean ($(grep -c ' INFO ' "$LOGDIR/install.log") INFO lines)" >&2

# --- tests ----------------------------------------------------------------------------
phase "pytest-odoo"
# shellcheck disable=SC2086  # PYTEST_ARGS is a list of words on purpose
"$PY" -m pytest tests \
  --odoo-database="$DB" --odoo-http --odoo-addons-path="$ADDONS_PATH" \
  --odoo-extra="db_host=$PGHOST" --odoo-extra="db_port=$PGPORT" --odoo-extra="db_user=$PGUSER" \
  --odoo-log-level=warn -ra ${PYTEST_ARGS:-}

# --- smoke: the server, started as `make run` starts it, answers ------------------
phase "smoke: HTTP server"
port=$(free_port)
serve_argv "$DB" "$port"
"${SERVE_ARGV[@]}" --max-cron-threads=0 >"$LOGDIR/server.log" 2>&1 &
server_pid=$!
if ! wait_http "http://127.0.0.1:$port/web/login" 60 "$server_pid"; then
  tail -n 40 "$LOGDIR/server.log" >&2
  exit 1
fi
echo "[test] http://127.0.0.1:$port/web/login answered 200" >&2
kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
server_pid=""
check_odoo_log "$LOGDIR/server.log"
