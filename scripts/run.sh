#!/usr/bin/env bash
# `make run`: set up, create or update the demo database with the addon and
# demo data, then serve Odoo on http://localhost:$PORT (default 8069).
# Idempotent: run it again to upgrade the addon in the same database.
#
#   PORT=8070 make run          another HTTP port
#   DEMO_DB=mydb make run       another database name
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
. "$ROOT/scripts/lib.sh"

DB=${DEMO_DB:-sales_process_demo}
PORT=${PORT:-8069}

port_free "$PORT" || { echo "port $PORT is already in use: stop what listens there or set PORT=..." >&2; exit 1; }

case $(module_state "$DB" "$MODULE") in
  installed | "to upgrade") mode=(-u "$MODULE"); what="updating $MODULE in" ;;
  *) mode=(-i "$MODULE"); what="installing $MODULE with demo data in" ;;
esac
db_exists "$DB" || what="creating database $DB and $what"
echo "[run] $what $DB" >&2
if [[ ${mode[0]} == -i ]]; then
  echo "[run] a new demo database takes 1 to 3 minutes: Odoo installs crm, mail and the other modules it needs," >&2
  echo "[run] then the addon, its seeded pipelines and its demo leads (each walked through its stages)" >&2
fi
# Odoo 18.0 loads demo data on install unless --without-demo is given. Its log at info level is
# filtered to the steps (the modules loading; each data and demo file of the addon, as Odoo 18
# logs them: "odoo.modules.loading: loading sales_process_stages/data/..."; each demo lead walked
# through its pipeline, the longest step; its migrations),
# warnings and errors: the wait says what it is doing.
start=$SECONDS
odoo -d "$DB" "${mode[@]}" --stop-after-init --log-level=info 2>&1 | while IFS= read -r line; do
  case $line in
    *" WARNING "* | *" ERROR "* | *" CRITICAL "*) printf '%s\n' "$line" >&2 ;;
    *"odoo.modules.loading: loading "*" modules"* | *"odoo.modules.loading: Loading module "* | \
    *"odoo.modules.loading: "*"modules loaded in"* | *"odoo.modules.loading: Modules loaded."* | \
    *"odoo.modules.loading: loading $MODULE/"* | *"Module $MODULE: loading demo"* | \
    *"odoo.addons.$MODULE.demo.pipeline_demo: demo lead "* | \
    *"odoo.modules.migration: module $MODULE: Running migration"* | *"odoo.modules.registry: Registry loaded"*)
      printf '[run] %4ss %s\n' $((SECONDS - start)) "${line#* odoo.}" >&2 ;;
  esac
done
echo "[run] database $DB ready in $((SECONDS - start)) s" >&2

# A database created elsewhere without demo data: load it (Settings > Load demo data does the same).
if [[ $(pg_query "$DB" "SELECT demo FROM ir_module_module WHERE name = 'base'") != True ]]; then
  echo "[run] $DB has no demo data: loading it" >&2
  odoo shell -d "$DB" --log-level=warn --no-http <<'EOF'
env["ir.demo"].install_demo()
env.cr.commit()
EOF
fi

serve_argv "$DB" "$PORT"
cat >&2 <<MSG

  Odoo 18.0 with $MODULE, database $DB
  URL:   http://localhost:$PORT/odoo/crm
  Login: admin / admin
  (Ctrl-C stops the server)

MSG
exec "${SERVE_ARGV[@]}"
