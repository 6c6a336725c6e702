#!/usr/bin/env bash
# Developer shortcut: fresh database from a crm template, install the addon. Not used by CI.
set -e
. "$(dirname "$0")/setup.sh" 2> >(grep -v "is ignored" >&2)
set +e
db=${1:-sps_dev}
dropdb --if-exists "$db" 2>/dev/null
psql -lqt | cut -d'|' -f1 | grep -qw sps_base || { createdb sps_base; odoo -d sps_base -i crm --without-demo=all --stop-after-init --log-level=warn; }
createdb -T sps_base "$db"
odoo -d "$db" -i sales_process_stages --without-demo=all --stop-after-init --log-level=warn 2>&1 | grep -v "security risk"
