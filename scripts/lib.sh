# Helpers shared by run.sh and test.sh. Source it after scripts/setup.sh
# (it needs PY, ODOO_BIN, ADDONS_PATH and the PG* variables).

MODULE=sales_process_stages

# colours only on a terminal (CI logs stay plain)
if [[ -t 2 ]]; then BOLD=$'\033[1m' RED=$'\033[1;31m' GREEN=$'\033[1;32m' OFF=$'\033[0m'
else BOLD="" RED="" GREEN="" OFF=""; fi

# Timing of phases: `phase NAME` starts one (and ends the previous), `phases_report` prints them all.
PHASE_NAMES=() PHASE_SECS=() _phase_name="" _phase_t0=0
phase() {
  phase_end
  _phase_name=$1 _phase_t0=$SECONDS
  printf '\n%s==> %s%s\n' "$BOLD" "$1" "$OFF" >&2
}
phase_end() {
  if [[ -n $_phase_name ]]; then
    PHASE_NAMES+=("$_phase_name") PHASE_SECS+=($((SECONDS - _phase_t0)))
    printf '%s<== %s: %ss%s\n' "$BOLD" "$_phase_name" $((SECONDS - _phase_t0)) "$OFF" >&2
    _phase_name=""
  fi
}
phases_report() {
  phase_end
  local i
  printf '\nTiming of phases:\n' >&2
  for i in "${!PHASE_NAMES[@]}"; do printf '  %-42s %5ss\n' "${PHASE_NAMES[$i]}" "${PHASE_SECS[$i]}" >&2; done
  printf '  %-42s %5ss\n' "total" "$SECONDS" >&2
}

# pg_query DB SQL [PARAM...]: runs one statement, prints the first column of each row.
# Exit status 2 when the database cannot be reached (e.g. it does not exist).
pg_query() {
  "$PY" - "$@" <<'EOF'
import os, sys
import psycopg2
db, sql, *params = sys.argv[1:]
try:
    conn = psycopg2.connect(dbname=db, host=os.environ["PGHOST"], port=os.environ["PGPORT"], user=os.environ["PGUSER"])
except psycopg2.OperationalError:
    sys.exit(2)
conn.autocommit = True
with conn, conn.cursor() as cr:
    cr.execute(sql, params or None)
    if cr.description:
        for row in cr.fetchall():
            print(row[0])
conn.close()
EOF
}

db_exists() { [[ $(pg_query postgres "SELECT 1 FROM pg_database WHERE datname = %s" "$1") == 1 ]]; }

# module_state DB MODULE: installed, uninstalled, to upgrade, ... or nothing (no such db/module)
module_state() {
  pg_query "$1" "SELECT state FROM ir_module_module WHERE name = %s" "$2" 2>/dev/null || true
}

# drop_db DB: drops the database and its filestore; quiet when it does not exist.
drop_db() {
  local db=$1
  "$PY" - "$db" <<'EOF'
import os, sys
import psycopg2
from psycopg2 import sql
db = sys.argv[1]
conn = psycopg2.connect(dbname="postgres", host=os.environ["PGHOST"], port=os.environ["PGPORT"], user=os.environ["PGUSER"])
conn.autocommit = True
with conn.cursor() as cr:
    cr.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [db])
    cr.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(db)))
conn.close()
EOF
  rm -rf "${ODOO_DATA_DIR:-$HOME/.local/share/Odoo}/filestore/$db"
}

# free_port: prints a TCP port nobody listens on.
free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# port_free PORT: true when nothing listens on PORT.
port_free() {
  "$PY" - "$1" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
EOF
}

# serve_argv DB PORT: sets the array SERVE_ARGV to the command that serves DB over HTTP on PORT.
# The run command execs it; the test's smoke step starts it in the background. One definition for both.
serve_argv() {
  local db=$1 port=$2
  SERVE_ARGV=("$PY" "$ODOO_BIN" --addons-path="$ADDONS_PATH"
    --db_host="$PGHOST" --db_port="$PGPORT" --db_user="$PGUSER"
    --database="$db" --db-filter="^${db}\$" --no-database-list
    --http-interface="${HTTP_INTERFACE:-127.0.0.1}" --http-port="$port")
}

# wait_http URL TIMEOUT_SECONDS [PID]: polls URL until it answers HTTP 200; fails on timeout
# or when PID (the server) dies first.
wait_http() {
  local url=$1 timeout=$2 pid=${3:-} t0=$SECONDS code
  while ((SECONDS - t0 < timeout)); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url" || true)
    [[ $code == 200 ]] && return 0
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
      echo "server (pid $pid) exited before $url answered" >&2
      return 1
    fi
    sleep 1
  done
  echo "$url did not answer HTTP 200 within ${timeout}s (last status: ${code:-none})" >&2
  return 1
}

# check_odoo_log FILE: fails when the log has an ERROR or CRITICAL line, or a WARNING
# emitted by (or naming) this addon. Prints the offending lines.
check_odoo_log() {
  local file=$1 bad
  bad=$(grep -E "^[0-9-]+ [0-9:,]+ [0-9]+ (ERROR|CRITICAL) |^[0-9-]+ [0-9:,]+ [0-9]+ WARNING .*(odoo\.addons\.$MODULE|$MODULE)" "$file" || true)
  if [[ -n $bad ]]; then
    printf '%s: offending log lines:\n%s\n' "$file" "$bad" >&2
    return 1
  fi
}

# odoo_tests_check LOG RC [MODULE]: judges a `--test-enable --stop-after-init` run of Odoo
# from its log and exit status RC. Prints Odoo's summary, the failed tests and the skipped
# ones; fails when RC is not 0, when a test failed, erred or was skipped, when the summary
# is missing, when no test of MODULE (default crm) ran, or on any other line
# check_odoo_log rejects.
odoo_tests_check() {
  local log=$1 rc=$2 mod=${3:-crm} ts='^[0-9-]+ [0-9:,]+ [0-9]+' summary ran post bad skipped ok=0
  summary=$(grep -E "$ts [A-Z]+ [^ ]+ odoo\.tests\.result: [0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests when loading database" "$log" \
    | tail -n 1 | sed -E 's/.* odoo\.tests\.result: //; s/ +$//') || true
  ran=$(grep -cE "$ts INFO [^ ]+ odoo\.addons\.$mod\.tests\.[A-Za-z0-9_.]+: Starting " "$log") || true
  post=$(grep -E "$ts INFO [^ ]+ odoo\.service\.server: [0-9]+ post-tests in " "$log" | tail -n 1 \
    | sed -E 's/.* odoo\.service\.server: //; s/ +$//') || true
  echo "[test] odoo: ${summary:-no summary line}; $ran tests of $mod started${post:+; $post}" >&2
  if ((rc == 124 || rc == 137)); then
    echo "[test] odoo timed out (exit $rc)" >&2; ok=1
  elif ((rc != 0)); then
    echo "[test] odoo exited with status $rc" >&2; ok=1
  fi
  if [[ -z $summary ]]; then
    tail -n 40 "$log" >&2
    echo "[test] no test summary in $log (did Odoo crash?)" >&2; ok=1
  elif [[ ! $summary =~ ^0\ failed,\ 0\ error ]]; then
    ok=1
  fi
  if ((ran == 0)); then echo "[test] no test of $mod ran" >&2; ok=1; fi
  # each FAIL/ERROR report of a test, with the last line of its traceback (the assertion)
  bad=$(awk '
    function flush() { if (head != "") print head (last != "" ? "\n    " last : ""); head = last = "" }
    /^[0-9-]+ [0-9:,]+ [0-9]+ / {
      flush()
      if ($4 ~ /^(ERROR|CRITICAL)$/ && $7 ~ /^(FAIL|ERROR):$/) { head = $0; sub(/^([^ ]+ ){5}/, "", head) }
      next
    }
    head != "" && NF { last = $0; sub(/^ +/, "", last) }
    END { flush() }' "$log")
  if [[ -n $bad ]]; then
    printf '[test] failed tests (%s):\n%s\n' "$(grep -c '^[^ ]' <<<"$bad")" "$bad" >&2; ok=1
  fi
  skipped=$(grep -E "$ts INFO [^ ]+ [^ ]+: skipped " "$log" | sed -E 's/^[0-9-]+ [0-9:,]+ [0-9]+ [A-Z]+ [^ ]+ //') || true
  if [[ -n $skipped ]]; then
    printf '[test] skipped tests (%s):\n%s\n' "$(wc -l <<<"$skipped")" "$skipped" >&2; ok=1
  fi
  # other errors (outside the tests' own FAIL/ERROR reports), warnings of the addon
  if [[ -z $bad ]]; then check_odoo_log "$log" || ok=1; fi
  ((ok == 0)) || echo "[test] log: $log" >&2
  return "$ok"
}

# wheel_check ADDON_DIR DB LOGDIR: the addon as an integrator installs it, as a wheel
# (README.rst, "As a wheel"). Builds the wheel of ADDON_DIR with whool (pinned in
# requirements-dev.txt; --no-build-isolation --no-index: no network), checks that it holds
# every file of the addon (what git tracks, and any file git would see but does not track
# yet) and every file the manifest names, installs it with --no-deps into a scratch
# virtualenv (Odoo is not pip-installed here: the venv sees the project venv's packages,
# Odoo's source through odoo-src.pth, but not this repository), checks that Odoo finds the
# addon there and nowhere else, then installs the addon from it, without demo data, in the
# scratch database DB with Odoo's own addons only on the addons path, and judges the log as
# check_odoo_log does. Logs in LOGDIR; drops DB (unless KEEP_DB) and the scratch venv.
wheel_check() (
  local addon_dir db=$2 logdir=$3 tmp wheel venv_site project_site odoo_addons
  addon_dir=$(cd "$1" && pwd)
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/sps_wheel.XXXXXX")
  # shellcheck disable=SC2064  # the names are known now
  trap "rm -rf '$tmp'; [[ -n \${KEEP_DB:-} ]] || drop_db '$db'" EXIT
  mkdir -p "$logdir"
  odoo_addons="$ODOO_SRC/addons,$ODOO_SRC/odoo/addons"

  "$PY" -c 'import whool.buildapi' 2>/dev/null \
    || { echo "[wheel] whool is not in $VENV (requirements-dev.txt; scripts/setup.sh installs it)" >&2; return 1; }
  if ! "$PY" -m pip wheel --disable-pip-version-check --no-deps --no-build-isolation --no-index \
      --wheel-dir "$tmp/dist" "$addon_dir" >"$logdir/wheel_build.log" 2>&1; then
    cat "$logdir/wheel_build.log" >&2
    echo "[wheel] pip wheel $addon_dir failed" >&2; return 1
  fi
  wheel=$(echo "$tmp"/dist/*.whl)
  [[ -f $wheel ]] || { echo "[wheel] no wheel in $tmp/dist" >&2; return 1; }

  # the wheel's name and version, and its files against the addon's and the manifest's
  "$PY" - "$addon_dir" "$wheel" <<'EOF' || return 1
import ast, email.message, email.parser, glob, os, subprocess, sys, zipfile
from collections import Counter
addon_dir, wheel = sys.argv[1:]
module = os.path.basename(addon_dir)
manifest = ast.literal_eval(open(os.path.join(addon_dir, "__manifest__.py"), encoding="utf-8").read())
version = manifest["version"]
problems = []
expected_name = f"odoo_addon_{module}-{version}-py3-none-any.whl"
if os.path.basename(wheel) != expected_name:
    problems.append(f"the wheel is {os.path.basename(wheel)}, not {expected_name}")
with zipfile.ZipFile(wheel) as zf:
    names = zf.namelist()
    meta_name = next((n for n in names if n.endswith(".dist-info/METADATA")), None)
    meta = email.parser.HeaderParser().parsestr(zf.read(meta_name).decode()) if meta_name else email.message.Message()
prefix = f"odoo/addons/{module}/"
in_wheel = {n[len(prefix):] for n in names if n.startswith(prefix)}
strays = [n for n in names if not n.startswith(prefix) and ".dist-info/" not in n]
# the addon's files: tracked by git, or untracked but not ignored (a new file not yet added)
def git_files(*options):
    try:
        out = subprocess.check_output(["git", "ls-files", "-z", *options, "--", "."], cwd=addon_dir, text=True)
    except (OSError, subprocess.CalledProcessError):
        sys.exit(f"[wheel] {addon_dir} is not in a git checkout: whool packages the files git tracks")
    return {f for f in out.split("\0") if f}
listed = git_files("--cached", "--others", "--exclude-standard")
on_disk = {f for f in listed if os.path.isfile(os.path.join(addon_dir, f))} - {"pyproject.toml"}
untracked = git_files("--others", "--exclude-standard")
# the files the manifest names: data, demo, and what its assets' globs match in the addon
named = set(manifest.get("data", [])) | set(manifest.get("demo", []))
for bundle, entries in manifest.get("assets", {}).items():
    for entry in entries:
        path = entry if isinstance(entry, str) else entry[-1]
        if not path.startswith(module + "/"):
            continue  # another module's file
        rel = path[len(module) + 1:]
        matches = [m for m in glob.glob(rel, root_dir=addon_dir, recursive=True)
                   if os.path.isfile(os.path.join(addon_dir, m))]
        if not matches:
            problems.append(f"asset {path} ({bundle}) matches no file")
        named.update(matches)
for f in sorted((on_disk | named) - in_wheel):
    why = ("not tracked by git: git add it" if f in untracked
           else "named by the manifest, not in the addon" if f not in on_disk else "left out")
    problems.append(f"missing from the wheel: {f} ({why})")
for f in sorted((in_wheel - on_disk) | set(strays)):
    problems.append(f"in the wheel but not a file of the addon: {f}")
if meta.get("Version") != version:
    problems.append(f"the wheel's version is {meta.get('Version')}, the manifest's {version}")
if problems:
    print("[wheel] " + "\n[wheel] ".join(problems), file=sys.stderr)
    sys.exit(1)
by_dir = Counter(f.split("/")[0] if "/" in f else "." for f in in_wheel)
print(f"[wheel] {os.path.basename(wheel)}: {len(in_wheel)} files of {module} "
      f"({', '.join(f'{d} {n}' for d, n in sorted(by_dir.items()))}); "
      f"requires {', '.join(meta.get_all('Requires-Dist') or ['nothing'])}", file=sys.stderr)
EOF

  # a scratch venv: the project venv's packages (Odoo's requirements, Odoo's source through
  # odoo-src.pth), not the repository; the addon only from the wheel
  "$PY" -m venv --without-pip "$tmp/venv" || return 1
  venv_site=$("$tmp/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  project_site=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  printf 'import site; site.addsitedir(%s)\n' "'$project_site'" >"$venv_site/project-venv.pth"
  "$tmp/venv/bin/python" -m pip install --disable-pip-version-check --no-deps --no-index "$wheel" \
    >"$logdir/wheel_install.log" 2>&1 \
    || { cat "$logdir/wheel_install.log" >&2; echo "[wheel] pip install $wheel failed" >&2; return 1; }
  # Odoo's odoo and odoo.addons extend their __path__ over sys.path (pkgutil), so the
  # wheel's odoo/addons/ is on Odoo's addons path without naming it; nothing else has the addon
  (cd "$tmp" && "$tmp/venv/bin/python" - "$odoo_addons" "$venv_site/odoo/addons" "$MODULE") <<'EOF' || return 1
import importlib.util, os, sys
addons_path, wheel_addons, module = sys.argv[1:]
import odoo.addons
from odoo.modules.module import get_module_path, initialize_sys_path
from odoo.tools import config
config.parse_config([f"--addons-path={addons_path}"])
initialize_sys_path()
found = [p for p in odoo.addons.__path__ if os.path.isdir(os.path.join(p, module))]
path = get_module_path(module, display_warning=False)
if found != [wheel_addons] or path != os.path.join(wheel_addons, module) or importlib.util.find_spec(module):
    sys.exit(f"[wheel] {module} should be found in {wheel_addons} only; found in {found}, "
             f"Odoo's path {path}, a top-level {importlib.util.find_spec(module)}")
print(f"[wheel] Odoo finds {module} in {path} only", file=sys.stderr)
EOF

  echo "[wheel] installing $MODULE from the wheel in database $db (no demo data)" >&2
  drop_db "$db"
  if ! (cd "$tmp" && "$tmp/venv/bin/python" "$ODOO_BIN" --addons-path="$odoo_addons" \
      --db_host="$PGHOST" --db_port="$PGPORT" --db_user="$PGUSER" -d "$db" -i "$MODULE" \
      --without-demo=all --stop-after-init --log-level=info) >"$logdir/wheel_odoo.log" 2>&1; then
    tail -n 40 "$logdir/wheel_odoo.log" >&2
    echo "[wheel] installing $MODULE from the wheel failed (log: $logdir/wheel_odoo.log)" >&2; return 1
  fi
  check_odoo_log "$logdir/wheel_odoo.log" || return 1
  [[ $(module_state "$db" "$MODULE") == installed ]] \
    || { echo "[wheel] $MODULE is not installed in $db (log: $logdir/wheel_odoo.log)" >&2; return 1; }
  echo "[wheel] installed from the wheel, log clean" >&2
)

# Odoo's own test files of the modules the addon extends, run in the full registry (see
# registry_tests): crm, base_automation (and test_base_automation, its test models),
# resource (and test_resource), and mail's tests of the models the addon overrides
# (activities, messages, partners).
REGISTRY_TEST_MODULES="crm,base_automation,test_base_automation,resource,test_resource,mail"
registry_test_files() {
  local src=$ODOO_SRC/addons
  ls "$src"/crm/tests/test_*.py "$src"/base_automation/tests/test_*.py "$src"/test_base_automation/tests/test_*.py \
    "$src"/resource/tests/test_*.py "$src"/test_resource/tests/test_*.py
  ls "$src"/mail/tests/test_mail_activity.py "$src"/mail/tests/test_mail_message.py "$src"/mail/tests/test_res_partner.py
}

# registry_test_run DB FILE LOG: one Odoo test file with --test-file on DB (the registry of
# every module DB has, as a user's server loads it), HTTP up for the tours, no other test.
# Prints the failed tests, one "logger: FAIL|ERROR: Class.test" per line; returns
# Odoo's exit status.
registry_test_run() {
  local db=$1 file=$2 log=$3 rc=0
  "$PY" "$ODOO_BIN" --addons-path="$ADDONS_PATH" --db_host="$PGHOST" --db_port="$PGPORT" --db_user="$PGUSER" \
    -d "$db" --test-enable --test-tags=/sps_no_such_module --test-file="$file" \
    --http-interface=127.0.0.1 --http-port="$(free_port)" --max-cron-threads=0 --workers=0 \
    --stop-after-init --log-level=info >"$log" 2>&1 || rc=$?
  # "<logger> FAIL: Class.test" (a subtest with its parameters), without the database's name
  awk '/^[0-9-]+ [0-9:,]+ [0-9]+ (ERROR|CRITICAL) / && $7 ~ /^(FAIL|ERROR):$/ {
    line = $6; for (i = 7; i <= NF; i++) line = line " " $i; print line }' "$log"
  return "$rc"
}

# registry_tests WITH_DB WITHOUT_DB LOGDIR: Odoo's modules beside the addon behave as without
# it. Each file of registry_test_files runs on WITH_DB (the addon installed); a file with
# failures runs again on WITHOUT_DB (the same modules, without the addon, installed then,
# without demo data, when it does not exist): a test that fails
# only with the addon fails the phase; one failing without it too is Odoo's own, reported.
# A file where no test ran, or whose run crashed, fails too.
registry_tests() {
  local with_db=$1 without_db=$2 logdir=$3 file name log failed bare ran ok=0 total=0 files=0
  while read -r file; do
    name=$(sed -E "s|^$ODOO_SRC/||; s|/tests/|.|; s|\.py$||; s|^(odoo/)?addons/||" <<<"$file")
    log="$logdir/registry_$name.log"
    files=$((files + 1))
    failed=$(registry_test_run "$with_db" "$file" "$log") || true
    ran=$(grep -cE "^[0-9-]+ [0-9:,]+ [0-9]+ INFO [^ ]+ odoo\.addons\.[a-z_]+\.tests\.[a-z_0-9]+: Starting " "$log") || true
    total=$((total + ran))
    if ((ran == 0)); then
      tail -n 20 "$log" >&2; echo "[test] $name: no test ran (log: $log)" >&2; ok=1; continue
    fi
    if [[ -z $failed ]]; then
      if grep -qE "^[0-9-]+ [0-9:,]+ [0-9]+ CRITICAL |at least one error occurred in a test" "$log"; then
        tail -n 20 "$log" >&2; echo "[test] $name: the run failed (log: $log)" >&2; ok=1
      else
        echo "[test] $name: $ran tests, none failed" >&2
      fi
      continue
    fi
    if ! db_exists "$without_db"; then
      echo "[test] database $without_db: $REGISTRY_TEST_MODULES, without the addon" >&2
      odoo -d "$without_db" -i "$REGISTRY_TEST_MODULES" --without-demo=all --stop-after-init --log-level=warn \
        >"$logdir/registry_install_without.log" 2>&1 || { tail -n 20 "$logdir/registry_install_without.log" >&2; return 1; }
    fi
    bare=$(registry_test_run "$without_db" "$file" "$logdir/registry_${name}_without.log") || true
    local only
    only=$(comm -23 <(sort -u <<<"$failed") <(sort -u <<<"$bare"))
    if [[ -n $only ]]; then
      printf '[test] %s: fails only with the addon (log: %s):\n%s\n' "$name" "$log" "$only" >&2; ok=1
    else
      printf "[test] %s: %s tests; Odoo's own failures, also without the addon:\n%s\n" "$name" "$ran" "$failed" >&2
    fi
  done < <(registry_test_files)
  echo "[test] full registry: $files files, $total tests started" >&2
  return "$ok"
}
