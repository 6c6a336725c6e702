"""Lifecycle of the addon: install, upgrade twice, uninstall, in a scratch database.

Run as odoo-bin subprocesses against a database of its own (never the one pytest
runs on), created with crm and its demo data so that there are leads, stages,
teams, activities and messages to lose:

1. install crm with demo data, record what plain CRM has;
2. install sales_process_stages (with its demo data);
3. upgrade it twice: no ERROR, nor WARNING from the addon, and the second
   upgrade changes nothing (the addon's XML ids, the records they point to,
   the addon's tables, leads, stages, teams, activity and message counts);
4. uninstall it: plain CRM is intact (same leads, stages, teams, activities,
   messages; each lead's stage, active flag and probability unchanged) and
   nothing of the addon is left in ir_model_data.

Slow (minutes): one scratch database, reused across the steps, dropped at the end.
"""

import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql

import odoo
from odoo.tools import config

MODULE = "sales_process_stages"
ODOO_BIN = os.environ.get("ODOO_BIN") or str(Path(odoo.__file__).resolve().parent.parent / "odoo-bin")
LOG_DIR = Path(__file__).resolve().parent.parent / "var" / "log"
# one Odoo log line starts with "2024-11-24 10:00:00,123 4242 LEVEL db logger: message"
BAD_LOG_LINE = re.compile(
    rf"^\S+ \S+ \d+ (?:(?:ERROR|CRITICAL) |WARNING .*{MODULE}).*$",
    re.MULTILINE,
)
# what plain CRM has; every id must survive the addon's install and uninstall
PLAIN_TABLES = ("crm_lead", "crm_stage", "crm_team", "mail_activity", "mail_message")
# models whose table is not named after them
SPECIAL_TABLES = {
    "ir.actions.actions": "ir_actions",
    "ir.actions.act_window": "ir_act_window",
    "ir.actions.act_window.view": "ir_act_window_view",
    "ir.actions.act_url": "ir_act_url",
    "ir.actions.server": "ir_act_server",
    "ir.actions.client": "ir_act_client",
    "ir.actions.report": "ir_act_report_xml",
}
# columns Odoo rewrites on every upgrade of a noupdate=0 record, values unchanged
VOLATILE_COLUMNS = ["write_date", "write_uid"]


def _db_params(dbname):
    params = {"dbname": dbname}
    for key in ("host", "port", "user", "password"):
        value = config.get(f"db_{key}")
        if value:
            params[key] = value
    return params


class Scratch:
    """A scratch database and odoo-bin runs against it."""

    def __init__(self):
        self.db = f"sps_lifecycle_{uuid.uuid4().hex[:10]}"
        self.log_dir = LOG_DIR / self.db
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.passed = False  # logs are kept only when the test fails

    def odoo(self, step, *args, stdin=None, command=None):
        """Runs odoo-bin on the scratch db; fails on a non-zero exit or a bad log line."""
        cmd = [sys.executable, ODOO_BIN]
        if command:
            cmd.append(command)
        cmd += [
            f"--addons-path={config['addons_path']}",
            f"--data-dir={config['data_dir']}",
            f"--database={self.db}",
            "--log-level=info",
            "--no-http",
            "--max-cron-threads=0",
        ]
        for key in ("host", "port", "user", "password"):
            if config.get(f"db_{key}"):
                cmd.append(f"--db_{key}={config[f'db_{key}']}")
        cmd += list(args)
        proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=1800, check=False)
        log = proc.stdout + proc.stderr
        log_file = self.log_dir / f"{step.replace(' ', '_')}.log"
        log_file.write_text(log)
        bad = BAD_LOG_LINE.findall(log)
        assert proc.returncode == 0, (
            f"{step}: odoo-bin exited {proc.returncode} (log {log_file}):\n" + "\n".join(log.splitlines()[-40:])
        )
        assert not bad, f"{step}: ERROR/CRITICAL or {MODULE} WARNING lines (log {log_file}):\n" + "\n".join(bad)
        return log

    def connect(self):
        conn = psycopg2.connect(**_db_params(self.db))
        conn.autocommit = True
        return conn

    def drop(self):
        conn = psycopg2.connect(**_db_params("postgres"))
        conn.autocommit = True
        with conn.cursor() as cr:
            cr.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [self.db],
            )
            cr.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(self.db)))
        conn.close()
        shutil.rmtree(Path(config["data_dir"]) / "filestore" / self.db, ignore_errors=True)


@pytest.fixture(scope="module")
def scratch():
    db = Scratch()
    try:
        yield db
    finally:
        db.drop()
        if db.passed:
            shutil.rmtree(db.log_dir, ignore_errors=True)


# -- snapshots ---------------------------------------------------------------------------


def module_state(cr, name):
    cr.execute("SELECT state, demo FROM ir_module_module WHERE name = %s", [name])
    return cr.fetchone()


def plain_snapshot(cr):
    """Ids of every row of plain CRM's tables (archived leads included), and each lead's state."""
    snap = {}
    for table in PLAIN_TABLES:
        cr.execute(sql.SQL("SELECT id FROM {} ORDER BY id").format(sql.Identifier(table)))
        snap[table] = [row[0] for row in cr.fetchall()]
    cr.execute("SELECT id, stage_id, active, probability FROM crm_lead ORDER BY id")
    snap["lead_state"] = {row[0]: row[1:] for row in cr.fetchall()}
    return snap


def _is_view(cr, table):
    cr.execute("SELECT relkind = 'v' FROM pg_class WHERE oid = to_regclass(%s)", [table])
    return cr.fetchone()[0]


def _table_of(cr, model):
    table = SPECIAL_TABLES.get(model, model.replace(".", "_"))
    cr.execute("SELECT to_regclass(%s)", [table])
    return table if cr.fetchone()[0] else None


def _rows(cr, table, ids=None):
    """{id: row as a dict without the volatile columns, plus its write_date}"""
    query = sql.SQL("SELECT id, to_jsonb(t) - %s::text[], to_jsonb(t)->>'write_date' FROM {} t").format(
        sql.Identifier(table)
    )
    params = [VOLATILE_COLUMNS]
    if ids is not None:
        query += sql.SQL(" WHERE id = ANY(%s)")
        params.append(list(ids))
    cr.execute(query, params)
    return {row[0]: (row[1], row[2]) for row in cr.fetchall()}


def addon_snapshot(cr):
    """What an upgrade could change: the addon's XML ids and their records, the tables of
    the addon's models, the plain CRM tables, activity and message counts."""
    cr.execute(
        "SELECT model, name, res_id, noupdate FROM ir_model_data WHERE module = %s ORDER BY model, name",
        [MODULE],
    )
    xmlids = cr.fetchall()
    records = {}
    by_model = {}
    for model, name, res_id, noupdate in xmlids:
        by_model.setdefault(model, []).append((name, res_id, noupdate))
    for model, entries in by_model.items():
        table = _table_of(cr, model)
        rows = _rows(cr, table, [res_id for _name, res_id, _nu in entries]) if table else {}
        for name, res_id, noupdate in entries:
            content, write_date = rows.get(res_id, (None, None))
            # Odoo rewrites noupdate=0 records on every upgrade (write_date moves, values stay);
            # it must never touch noupdate=1 ones.
            records[f"{model}/{name}"] = (content, write_date if noupdate else None)
    cr.execute(
        "SELECT DISTINCT m.model FROM ir_model m JOIN ir_model_data d ON d.res_id = m.id AND d.model = 'ir.model' "
        "WHERE d.module = %s ORDER BY m.model",
        [MODULE],
    )
    tables = {}
    for (model,) in cr.fetchall():
        table = _table_of(cr, model)
        # the modules' own rows: Odoo records each upgrade there (the addon extends ir.module.module);
        # the reports are SQL views of the tables compared here (their days in stage count up to now)
        if table and table != "ir_module_module" and not _is_view(cr, table):
            tables[table] = _rows(cr, table)
    # rows of the addon's noupdate=0 records: Odoo rewrites them on every upgrade (their write_date
    # moves, their values stay), also in the tables of the models the addon extends (ir_act_server)
    rewritten = {}
    for model, entries in by_model.items():
        table = _table_of(cr, model)
        rewritten.setdefault(table, set()).update(res_id for _name, res_id, noupdate in entries if not noupdate)
    for table, rows in tables.items():
        for res_id in rewritten.get(table, ()):
            if res_id in rows:
                rows[res_id] = (rows[res_id][0], None)
    for table in ("crm_lead", "crm_stage", "crm_team"):
        tables[table] = _rows(cr, table)
    counts = {}
    for table in ("mail_activity", "mail_message", "mail_tracking_value", "mail_followers"):
        cr.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        counts[table] = cr.fetchone()[0]
    return {"xmlids": xmlids, "records": records, "tables": tables, "counts": counts}


def _diff_rows(label, before, after, limit=20):
    diffs = []
    for key in sorted(set(before) | set(after), key=str):
        if key not in after:
            diffs.append(f"{label} {key}: removed")
        elif key not in before:
            diffs.append(f"{label} {key}: added")
        elif before[key] != after[key]:
            (old, old_wd), (new, new_wd) = before[key], after[key]
            if old != new and old is not None and new is not None:
                cols = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
                diffs.append(f"{label} {key}: changed columns {cols}")
            else:
                diffs.append(f"{label} {key}: write_date {old_wd} -> {new_wd}")
    return diffs[:limit]


def diff_addon_snapshots(before, after):
    diffs = []
    if before["xmlids"] != after["xmlids"]:
        old, new = set(before["xmlids"]), set(after["xmlids"])
        diffs.append(f"ir_model_data rows removed {sorted(old - new)[:10]}, added {sorted(new - old)[:10]}")
    diffs += _diff_rows("record", before["records"], after["records"])
    for table in sorted(set(before["tables"]) | set(after["tables"])):
        diffs += _diff_rows(table, before["tables"].get(table, {}), after["tables"].get(table, {}))
    if before["counts"] != after["counts"]:
        diffs.append(f"counts {before['counts']} -> {after['counts']}")
    return diffs


# -- the test -------------------------------------------------------------------------------


@pytest.mark.slow
def test_install_upgrade_uninstall_keeps_crm_intact(scratch):
    # 1. plain CRM with demo data
    scratch.odoo("install crm", "-i", "crm", "--stop-after-init")
    conn = scratch.connect()
    try:
        with conn.cursor() as cr:
            assert module_state(cr, "crm") == ("installed", True), "crm should be installed with demo data"
            plain = plain_snapshot(cr)
        for table in PLAIN_TABLES:
            assert plain[table], f"plain CRM demo data should have rows in {table}"
        assert any(not active for _stage, active, _proba in plain["lead_state"].values()), "no archived lead"

        # 2. install the addon (its demo data too)
        scratch.odoo(f"install {MODULE}", "-i", MODULE, "--stop-after-init")
        with conn.cursor() as cr:
            assert module_state(cr, MODULE) == ("installed", True)

        # 3. upgrade twice; the second one must change nothing
        scratch.odoo(f"upgrade {MODULE} 1", "-u", MODULE, "--stop-after-init")
        with conn.cursor() as cr:
            before = addon_snapshot(cr)
        scratch.odoo(f"upgrade {MODULE} 2", "-u", MODULE, "--stop-after-init")
        with conn.cursor() as cr:
            assert module_state(cr, MODULE) == ("installed", True)
            after = addon_snapshot(cr)
        diffs = diff_addon_snapshots(before, after)
        assert not diffs, "the second upgrade changed data:\n" + "\n".join(diffs)

        # 4. uninstall: plain CRM intact
        scratch.odoo(
            f"uninstall {MODULE}",
            command="shell",
            stdin=(
                f"mod = env['ir.module.module'].search([('name', '=', '{MODULE}')])\n"
                "mod.button_immediate_uninstall()\n"
            ),
        )
        with conn.cursor() as cr:
            assert module_state(cr, MODULE)[0] == "uninstalled"
            cr.execute("SELECT model, name FROM ir_model_data WHERE module = %s", [MODULE])
            left = cr.fetchall()
            assert not left, f"uninstalling left XML ids of {MODULE}: {left[:20]}"
            final = plain_snapshot(cr)
    finally:
        conn.close()

    for table in PLAIN_TABLES:
        old, new = set(plain[table]), set(final[table])
        assert old == new, (
            f"{table}: {len(old)} rows before install, {len(new)} after uninstall; "
            f"lost {sorted(old - new)[:20]}, left over {sorted(new - old)[:20]}"
        )
    changed = {
        lead_id: (state, final["lead_state"][lead_id])
        for lead_id, state in plain["lead_state"].items()
        if final["lead_state"][lead_id] != state
    }
    assert not changed, f"(stage_id, active, probability) of leads changed: {changed}"
    scratch.passed = True
