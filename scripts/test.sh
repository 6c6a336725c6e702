#!/usr/bin/env bash
# `make test`: set up, lint, build the addon's wheel and install the addon from it
# (scratch virtualenv and database), install the addon with demo data in a throwaway
# database, run the tests (pytest-odoo) on it, run Odoo's own crm test suite with
# the addon installed (in a second throwaway database, without demo data), run the test
# files of the Odoo modules the addon extends in the full registry (a third one), smoke-test the HTTP server on the first one, drop the databases. Exits non-zero on any
# failure, on any skipped test and when no test ran.
#
#   PYTEST_ARGS="-k plain -x" make test      extra pytest arguments
#   CRM_TEST_TAGS=/crm:TestLeadAssignPerf make test
#                                            another --test-tags for the crm suite (default /crm)
#   CRM_TESTS_TIMEOUT=30m make test          time limit of the crm suite (default 45m)
#   ODOO_TEST_FILES=0 make test              skip Odoo's own tests in the full registry
#   KEEP_DB=1 make test                      keep the throwaway databases (for debugging)
set -euo pipefail
SECONDS=0
_t0=$SECONDS
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
. "$ROOT/scripts/lib.sh"
PHASE_NAMES+=("setup") PHASE_SECS+=($((SECONDS - _t0)))
printf '%s<== setup: %ss%s\n' "$BOLD" $((SECONDS - _t0)) "$OFF" >&2

DB="sps_test_$(date +%Y%m%d_%H%M%S)_$$"
CRM_DB="${DB}_crm"
WHEEL_DB="${DB}_wheel"
REG_DB="${DB}_reg"
BARE_DB="${DB}_bare"
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
    echo "[test] KEEP_DB set: databases $DB, $CRM_DB, $WHEEL_DB, $REG_DB and $BARE_DB (if created) kept" >&2
  else
    drop_db "$DB" || echo "[test] could not drop database $DB" >&2
    drop_db "$CRM_DB" || echo "[test] could not drop database $CRM_DB" >&2
    drop_db "$WHEEL_DB" || echo "[test] could not drop database $WHEEL_DB" >&2
    drop_db "$REG_DB" || echo "[test] could not drop database $REG_DB" >&2
    drop_db "$BARE_DB" || echo "[test] could not drop database $BARE_DB" >&2
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

# --- the wheel: what pip-based deployments install (README.rst, "As a wheel") -----
# Built with whool from the git-tracked files, checked against the addon's files and the
# manifest's, installed with --no-deps into a scratch venv that does not see this
# repository, then installed from there (no demo data) in a scratch database with Odoo's
# own addons only on the addons path: a file left out of the wheel fails here.
phase "packaging: wheel"
wheel_check "$ROOT/$MODULE" "$WHEEL_DB" "$LOGDIR"

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

# --- Odoo's own crm tests, with the addon installed ------------------------------------
# As Odoo's CI runs a module's tests: install crm and the addon in a fresh database with
# --test-enable and --test-tags /crm, but without demo data: the addon's demo pipelines
# (more teams with won and lost leads) add queries to crm's own lead scoring in crm's
# query-count tests, which would blame the addon for its demo data rather than its code.
# Odoo runs crm's at_install tests right after loading crm, before the addon's models are
# loaded (what at_install means); the post_install ones (assignment and its query counts,
# mass convert, calendar, tours) run with the addon loaded.
phase "crm test suite (no demo data)"
crm_log="$LOGDIR/crm_tests.log"
echo "[test] database $CRM_DB, --test-tags ${CRM_TEST_TAGS:-/crm}" >&2
crm_rc=0
# a free port: the tours need the HTTP server, and 8069 may be taken; --foreground: Ctrl-C reaches Odoo
timeout --foreground --kill-after=60 "${CRM_TESTS_TIMEOUT:-45m}" \
  "$PY" "$ODOO_BIN" --addons-path="$ADDONS_PATH" --db_host="$PGHOST" --db_port="$PGPORT" --db_user="$PGUSER" \
  -d "$CRM_DB" -i "crm,$MODULE" --without-demo=all --test-enable --test-tags="${CRM_TEST_TAGS:-/crm}" \
  --http-interface=127.0.0.1 --http-port="$(free_port)" --max-cron-threads=0 --workers=0 \
  --stop-after-init --log-level=info >"$crm_log" 2>&1 || crm_rc=$?
odoo_tests_check "$crm_log" "$crm_rc" crm || exit 1

# --- Odoo's own tests in the full registry ---------------------------------------------
# Odoo runs a module's at_install tests before the modules depending on it are loaded, so
# the crm suite above never sees the addon in them. Here each test file of the modules the
# addon extends (scripts/lib.sh, registry_test_files) runs with --test-file on a database
# where every one of them and the addon are installed, without demo data: the registry a
# customer's server loads. A file with failures runs again on the same modules without the
# addon; a test failing only with the addon fails the phase. ODOO_TEST_FILES=0 skips it.
if [[ ${ODOO_TEST_FILES:-1} != 0 ]]; then
  phase "Odoo's tests in the full registry (no demo data)"
  echo "[test] database $REG_DB: $REGISTRY_TEST_MODULES,$MODULE" >&2
  if ! odoo -d "$REG_DB" -i "$REGISTRY_TEST_MODULES,$MODULE" --without-demo=all --stop-after-init \
      --log-level=info >"$LOGDIR/registry_install.log" 2>&1; then
    tail -n 40 "$LOGDIR/registry_install.log" >&2; exit 1
  fi
  check_odoo_log "$LOGDIR/registry_install.log"
  registry_tests "$REG_DB" "$BARE_DB" "$LOGDIR" || exit 1
fi

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
