#!/usr/bin/env bash
# `make bench`: what the addon costs, measured against plain crm and against Odoo's own automation
# rules doing the same work, on the same data (issue #7).
#
# Builds (or reuses) three databases with the same N leads: bench_plain_<N> (crm),
# bench_auto_<N> (crm + base_automation, the playbook's activities as automation rules) and
# bench_addon_<N> (crm + sales_process_stages, configured), all from the template
# bench_template (crm, no demo data; created the first time). Then scripts/bench.py measures
# the three in one process and prints the table; the results go to bench-results-<N>.json.
#
#   N=100000 make bench            another number of leads (default 10000)
#   REPEATS=9 make bench           repeats per measurement (default 5; the median is reported)
#   make bench CHECK=1             exit non-zero when a goal is missed (or: scripts/bench.sh --check)
#   scripts/bench.sh --rebuild     rebuild the databases even when their data stamp matches
#   ONLY=kanban,form make bench    some scenarios only
#
# A database is reused when its data stamp (N and the generator's version) matches; the addon
# database is updated (-u) first when the addon's code changed since. The automation database
# depends on Odoo's code and bench.py only (bump bench.py's DATA_VERSION when its rules change).
set -euo pipefail
SECONDS=0
_t0=$SECONDS
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
. "$ROOT/scripts/lib.sh"
PHASE_NAMES+=("setup") PHASE_SECS+=($((SECONDS - _t0)))

N=${N:-10000}
REPEATS=${REPEATS:-5}
CHECK=${CHECK:-}
REBUILD=${REBUILD:-}
for arg in "$@"; do
  case $arg in
    --check) CHECK=1 ;;
    --rebuild) REBUILD=1 ;;
    *) echo "usage: $0 [--check] [--rebuild]  (N, REPEATS, ONLY from the environment)" >&2; exit 2 ;;
  esac
done
[[ $N =~ ^[0-9]+$ ]] && ((N >= 100)) || { echo "[bench] N must be a number of leads, at least 100" >&2; exit 2; }

TEMPLATE=bench_template
PLAIN=bench_plain_$N
AUTO=bench_auto_$N
ADDON=bench_addon_$N
STAMP_KEY=sales_process_stages.bench_stamp
HASH_KEY=sales_process_stages.bench_addon_hash
LOGDIR="$ROOT/var/log/bench"
mkdir -p "$LOGDIR"
cd "$ROOT"

# odoo_step LOG ARGS...: runs odoo, keeps its log, shows its end on failure
odoo_step() {
  local log=$1; shift
  if ! odoo "$@" --stop-after-init --log-level=warn >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "[bench] odoo $* failed (log: $log)" >&2
    return 1
  fi
  check_odoo_log "$log"
}

# create_db DB [TEMPLATE]: a new database (a copy of TEMPLATE)
create_db() {
  "$PY" - "$@" <<'EOF'
import os, sys
import psycopg2
from psycopg2 import sql
db, template = sys.argv[1], (sys.argv[2:] or ["template0"])[0]
conn = psycopg2.connect(dbname="postgres", host=os.environ["PGHOST"], port=os.environ["PGPORT"], user=os.environ["PGUSER"])
conn.autocommit = True
with conn.cursor() as cr:
    cr.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(db), sql.Identifier(template)))
conn.close()
EOF
}
param() { pg_query "$1" "SELECT value FROM ir_config_parameter WHERE key = %s" "$2" 2>/dev/null || true; }
set_param() {
  pg_query "$1" "INSERT INTO ir_config_parameter (key, value, create_uid, write_uid, create_date, write_date)
                 VALUES (%s, %s, 1, 1, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value" "$2" "$3" >/dev/null
}
addon_hash() {
  find "$MODULE" -type f \( -name '*.py' -o -name '*.xml' -o -name '*.csv' \) -print0 | sort -z \
    | xargs -0 sha1sum | sha1sum | cut -d' ' -f1
}

# --- the template: crm without demo data ------------------------------------------
phase "template $TEMPLATE (crm, no demo data)"
if [[ $(module_state "$TEMPLATE" crm) != installed ]]; then
  drop_db "$TEMPLATE"
  echo "[bench] creating $TEMPLATE: crm without demo data (once)" >&2
  odoo_step "$LOGDIR/$TEMPLATE.log" -d "$TEMPLATE" -i crm --without-demo=all || { drop_db "$TEMPLATE"; exit 1; }
else
  echo "[bench] $TEMPLATE exists" >&2
fi

# --- the three databases --------------------------------------------------------------
want=$("$PY" scripts/bench.py stamp --leads "$N")
build_db() {  # build_db DB plain|automation|addon
  local db=$1 kind=$2 log="$LOGDIR/$1.log"
  if [[ -z $REBUILD && $(param "$db" "$STAMP_KEY") == "$want" ]]; then
    if [[ $kind == addon && $(param "$db" "$HASH_KEY") != "$(addon_hash)" ]]; then
      echo "[bench] $db: the addon changed since it was built: updating it" >&2
      odoo_step "$log" -d "$db" -u "$MODULE"
      set_param "$db" "$HASH_KEY" "$(addon_hash)"
    fi
    echo "[bench] $db: reused ($want)" >&2
    return
  fi
  echo "[bench] $db: building ($want)" >&2
  drop_db "$db"
  create_db "$db" "$TEMPLATE"
  if [[ $kind == addon ]]; then
    odoo_step "$log" -d "$db" -i "$MODULE" --without-demo=all || { drop_db "$db"; return 1; }
    "$PY" scripts/bench.py load -d "$db" --leads "$N" --addon || { drop_db "$db"; return 1; }
    set_param "$db" "$HASH_KEY" "$(addon_hash)"
  elif [[ $kind == automation ]]; then
    odoo_step "$log" -d "$db" -i base_automation --without-demo=all || { drop_db "$db"; return 1; }
    "$PY" scripts/bench.py load -d "$db" --leads "$N" --automation || { drop_db "$db"; return 1; }
  else
    "$PY" scripts/bench.py load -d "$db" --leads "$N" || { drop_db "$db"; return 1; }
  fi
}
phase "database $PLAIN (crm)"
build_db "$PLAIN" plain
phase "database $AUTO (crm + base_automation)"
build_db "$AUTO" automation
phase "database $ADDON (crm + $MODULE)"
build_db "$ADDON" addon

# --- measure ---------------------------------------------------------------------------
phase "measure ($REPEATS repeats)"
run_args=(--plain "$PLAIN" --auto "$AUTO" --addon "$ADDON" --repeats "$REPEATS" --json "$ROOT/bench-results-$N.json")
[[ -n $CHECK ]] && run_args+=(--check)
[[ -n ${ONLY:-} ]] && run_args+=(--only "$ONLY")
rc=0
"$PY" scripts/bench.py run "${run_args[@]}" || rc=$?
phases_report
exit "$rc"
