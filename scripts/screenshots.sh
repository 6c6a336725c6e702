#!/usr/bin/env bash
# Screenshots for the app store page: sales_process_stages/static/description/{kanban,lead_form,dashboard}{,_he}.png,
# taken in headless Chromium (1440 x 900) on the demo database (make run builds it).
#
#   DEMO_DB=sales_process_demo bash scripts/screenshots.sh
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
. "$ROOT/scripts/lib.sh"
DB=${DEMO_DB:-sales_process_demo}
[[ $(module_state "$DB" "$MODULE") == installed ]] || { echo "no $MODULE in $DB: run make run first" >&2; exit 1; }
cd "$ROOT"
# pytest-odoo runs the tests in a transaction rolled back afterwards: the database is left as it was
"$PY" -m pytest scripts/screenshots/test_screenshots.py -p no:cacheprovider \
  --odoo-database="$DB" --odoo-http --odoo-addons-path="$ADDONS_PATH" \
  --odoo-extra="db_host=$PGHOST" --odoo-extra="db_port=$PGPORT" --odoo-extra="db_user=$PGUSER" \
  --odoo-log-level=warn -q
ls -l "$ROOT/$MODULE"/static/description/*.png >&2
