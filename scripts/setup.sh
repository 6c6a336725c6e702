#!/usr/bin/env bash
# Shared setup of the run, test and bench commands. Idempotent: every step
# checks before it acts, so a warm machine goes through it in seconds.
#
# Source it (". scripts/setup.sh") or run it. It exports:
#   ROOT, ODOO_SRC, VENV, PY, ODOO_BIN, ADDONS_PATH, PGHOST, PGPORT, PGUSER
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
PYTHON=${PYTHON:-python3.11}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-$(id -un)}

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[setup] ERROR:\033[0m %s\n' "$*" >&2; exit 1; }

# --- 1. Debian packages needed to build Odoo's requirements and run tours --
# command-or-file to test : Debian package
DEB_NEEDS=(
  "/usr/include/ldap.h:libldap2-dev"
  "/usr/include/sasl/sasl.h:libsasl2-dev"
  "pg_config:libpq-dev"
  "gcc:gcc"
  "curl:curl"
  "chromium:chromium"
)
missing=()
for need in "${DEB_NEEDS[@]}"; do
  probe=${need%%:*} pkg=${need##*:}
  if [[ $probe == /* ]]; then [[ -e $probe ]] || missing+=("$pkg")
  else command -v "$probe" >/dev/null 2>&1 || missing+=("$pkg"); fi
done
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
      || die "apt-get could not install: ${missing[*]}"
  else
    die "missing Debian packages: ${missing[*]} (run: sudo apt-get install ${missing[*]})"
  fi
fi

# --- 1b. rtlcss: Odoo builds the right-to-left stylesheets (Hebrew) with it ---------
# (without it Odoo logs "You need https://rtlcss.com/ to convert css file to right to left
# compatiblity" and serves left-to-right styles to Hebrew users). From the npm registry.
if ! command -v rtlcss >/dev/null 2>&1; then
  command -v npm >/dev/null 2>&1 || die "npm not found: install Node.js and npm (Debian: apt-get install npm) for rtlcss"
  say "installing rtlcss (npm) for right-to-left stylesheets"
  if [[ $(id -u) == 0 ]]; then
    npm install -g --silent --no-fund --no-audit rtlcss@4 >/dev/null || die "npm could not install rtlcss"
  else
    die "rtlcss not found: run: sudo npm install -g rtlcss"
  fi
fi

# --- 2. Odoo 18.0 source ----------------------------------------------------
if [[ -z ${ODOO_SRC:-} ]]; then
  ODOO_SRC="$HOME/.cache/odoo/18.0"
  if [[ ! -f $ODOO_SRC/odoo-bin ]]; then
    say "no Odoo source in \$ODOO_SRC or $ODOO_SRC: cloning odoo/odoo 18.0 (depth 1)"
    mkdir -p "$(dirname "$ODOO_SRC")"
    git clone -q --depth 1 --branch 18.0 https://github.com/odoo/odoo.git "$ODOO_SRC" \
      || die "could not clone Odoo 18.0. Put an Odoo 18.0 Community tree at $ODOO_SRC or point ODOO_SRC at one."
  fi
fi
[[ -f $ODOO_SRC/odoo-bin && -d $ODOO_SRC/addons/crm ]] \
  || die "ODOO_SRC=$ODOO_SRC is not an Odoo 18.0 source tree (no odoo-bin or addons/crm)"
grep -q "version_info = (18, 0" "$ODOO_SRC/odoo/release.py" \
  || die "ODOO_SRC=$ODOO_SRC is not Odoo 18.0"
ODOO_BIN="$ODOO_SRC/odoo-bin"
ADDONS_PATH="$ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$ROOT"

# --- 3. Python virtualenv ---------------------------------------------------
stamp="$VENV/.requirements.sha"
want=$(cat "$ODOO_SRC/requirements.txt" "$ROOT/requirements-dev.txt" "$ROOT/scripts/constraints.txt" | sha1sum | cut -d' ' -f1)
if [[ ! -x $PY || ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  command -v "$PYTHON" >/dev/null || die "$PYTHON not found: Odoo 18 is set up here with Python 3.11"
  say "building $VENV (Odoo requirements and dev tools; a few minutes the first time)"
  [[ -x $PY ]] || "$PYTHON" -m venv "$VENV"
  export PIP_CONSTRAINT="$ROOT/scripts/constraints.txt"
  # pip warns once per missing local index ("Location ... is ignored"): noise, not news.
  pip_install() {
    "$PY" -m pip install -q --disable-pip-version-check "$@" 2>&1 | { grep -v 'is ignored' || true; } >&2
  }
  pip_install "setuptools<70" wheel || die "pip could not install setuptools and wheel (see above)"
  pip_install -r "$ODOO_SRC/requirements.txt" -r "$ROOT/requirements-dev.txt" \
    || die "pip could not install Odoo's requirements (see above)"
  # Tours need websocket-client (else Odoo's HttpCase skips them); tests need pytest-odoo.
  "$PY" -c 'import importlib.util as u, psycopg2, websocket; assert u.find_spec("pytest_odoo")' || die "the venv lacks websocket-client, pytest-odoo or psycopg2"
  echo "$want" >"$stamp"
fi
# Odoo is not on a package registry: make its source importable in the venv.
site=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
[[ $(cat "$site/odoo-src.pth" 2>/dev/null) == "$ODOO_SRC" ]] || echo "$ODOO_SRC" >"$site/odoo-src.pth"

# --- 4. PostgreSQL ----------------------------------------------------------
pg_up() { "$PY" - <<'EOF' 2>/dev/null
import os, psycopg2
psycopg2.connect(dbname="postgres", host=os.environ["PGHOST"], port=os.environ["PGPORT"], user=os.environ["PGUSER"], connect_timeout=3).close()
EOF
}
if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null && [[ -d /etc/postgresql ]]; then
    for ver in $(ls /etc/postgresql); do
      say "starting PostgreSQL $ver"
      pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
    done
    for _ in $(seq 20); do pg_up && break; sleep 0.5; done
  fi
  pg_up || die "PostgreSQL does not answer on $PGHOST:$PGPORT as $PGUSER (install it, or set PGHOST/PGPORT/PGUSER)"
fi

export ROOT ODOO_SRC VENV PY ODOO_BIN ADDONS_PATH
# odoo-bin with the project's addons path and database options; a subcommand (shell, ...) goes first
odoo() {
  local command=()
  case "${1:-}" in shell | populate | neutralize | obfuscate | db) command=("$1"); shift ;; esac
  "$PY" "$ODOO_BIN" "${command[@]}" --addons-path="$ADDONS_PATH" --db_host="$PGHOST" --db_port="$PGPORT" \
    --db_user="$PGUSER" "$@"
}
