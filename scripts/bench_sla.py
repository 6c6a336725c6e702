#!/usr/bin/env python3
"""Time the SLA sweep on many open leads (not a test).

Creates N open leads in an SLA stage with one INSERT ... SELECT generate_series, then times
``crm.lead._cron_sweep_sla`` as the scheduler runs it (batches committed one by one) when about
1 % of the leads change state, and when all of them do. Escalations are off for these runs (they
send activities: their cost is per escalated lead, timed separately with --escalations).

Use a scratch database with the addon installed, e.g.:

    source scripts/setup.sh
    scripts/dev-install.sh sla_bench            # fresh database from the crm template
    $PY scripts/bench_sla.py -d sla_bench -n 10000 -n 100000 --escalations 1000

The benchmark leads (named "SLA bench ...") are deleted at the end.
"""

import argparse
import json
import os
import sys
import time

import odoo
from odoo import SUPERUSER_ID, api
from odoo.tools import config

BENCH_STAGE = "SLA bench stage"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("-n", "--leads", type=int, action="append", help="number of open leads (repeatable)")
    parser.add_argument("--batch-size", type=int, default=10000)
    parser.add_argument("--escalations", type=int, default=0, help="also time this many escalations")
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark leads")
    return parser.parse_args()


def setup_odoo(database):
    config.parse_config([
        "-d", database,
        "--addons-path", os.environ["ADDONS_PATH"],
        "--db_host", os.environ.get("PGHOST", "127.0.0.1"),
        "--db_port", os.environ.get("PGPORT", "5432"),
        "--db_user", os.environ.get("PGUSER", "root"),
        "--log-level", "warn",
    ])
    odoo.service.server.load_server_wide_modules()
    return odoo.modules.registry.Registry(database)


def bench_stage(env, escalate=False):
    stage = env["crm.stage"].search([("name", "=", BENCH_STAGE)], limit=1)
    values = {
        "sla_enabled": True, "sla_duration": 1, "sla_duration_unit": "days", "sla_time_basis": "calendar",
        "sla_due_soon_type": "percent", "sla_due_soon_percent": 80, "sla_escalate": escalate,
        "sla_notify_leader": False, "sequence": 999,
    }
    if stage:
        stage.write(values)
    else:
        stage = env["crm.stage"].create({"name": BENCH_STAGE, **values})
    return stage


def delete_bench_leads(cr):
    cr.execute("SELECT array_agg(id) FROM crm_lead WHERE name LIKE 'SLA bench %%'")
    lead_ids = cr.fetchone()[0] or []
    for table in ("mail_activity", "mail_followers", "mail_message"):
        cr.execute(f"DELETE FROM {table} WHERE res_model = 'crm.lead' AND res_id = ANY(%s)".replace(
            "res_model", "model" if table == "mail_message" else "res_model"), [lead_ids])
    cr.execute("DELETE FROM crm_lead WHERE id = ANY(%s)", [lead_ids])


def insert_leads(cr, stage_id, count):
    """Open leads on track: due in a day, yellow in 19 hours."""
    cr.execute("""
        INSERT INTO crm_lead (name, type, active, stage_id, company_id, user_id, priority, probability,
                              create_uid, create_date, write_uid, write_date, date_last_stage_update,
                              sla_start_date, sla_state, sla_priority, sla_deadline, sla_due_soon_date,
                              sla_paused_hours)
        SELECT 'SLA bench ' || n, 'opportunity', TRUE, %(stage)s, 1, 2, '0', 10,
               1, now, 1, now, now, now, 'on_track', 1, now + interval '1 day', now + interval '19 hours', 0
          FROM generate_series(1, %(count)s) n, (SELECT now() AT TIME ZONE 'UTC' AS now) t
    """, {"stage": stage_id, "count": count})
    cr.execute("ANALYZE crm_lead")


def reset_states(cr, share):
    """Put every bench lead back on track; make ``share`` of them (by id) overdue."""
    cr.execute("""
        UPDATE crm_lead SET sla_state = 'on_track', sla_priority = 1,
               sla_deadline = CASE WHEN id %% %(modulo)s = 0 THEN (now() AT TIME ZONE 'UTC') - interval '1 minute'
                                   ELSE (now() AT TIME ZONE 'UTC') + interval '1 day' END,
               sla_due_soon_date = (now() AT TIME ZONE 'UTC') + interval '19 hours' - interval '1 day'
                                   * (id %% %(modulo)s = 0)::int,
               sla_escalation_date = NULL, sla_escalated_date = NULL
         WHERE name LIKE 'SLA bench %%'
    """, {"modulo": max(round(1 / share), 1)})
    cr.execute("VACUUM ANALYZE crm_lead")


def time_sweep(registry, batch_size, escalation_batch_size=0):
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        start = time.perf_counter()
        done = env["crm.lead"]._cron_sweep_sla(
            batch_size=batch_size, escalation_batch_size=escalation_batch_size, auto_commit=True)
        elapsed = time.perf_counter() - start
    return done, elapsed


def count_states(registry):
    with registry.cursor() as cr:
        cr.execute("SELECT sla_state, count(*) FROM crm_lead WHERE name LIKE 'SLA bench %%' GROUP BY 1 ORDER BY 1")
        return dict(cr.fetchall())


def main():
    args = parse_args()
    registry = setup_odoo(args.database)
    results = []
    for count in args.leads or [10000]:
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            delete_bench_leads(cr)
            stage = bench_stage(env)
            cr.commit()
            start = time.perf_counter()
            insert_leads(cr, stage.id, count)
            cr.commit()
            print(f"{count} open leads inserted in {time.perf_counter() - start:.1f} s", flush=True)
        for share in (0.01, 1.0):
            # the scenario's state, then the sweep of nothing (no state to change), then the real one
            conn = registry.cursor()
            conn._cnx.autocommit = True  # VACUUM
            reset_states(conn, share)
            conn._cnx.autocommit = False
            conn.close()
            done, elapsed = time_sweep(registry, args.batch_size)
            states = count_states(registry)
            idle_done, idle = time_sweep(registry, args.batch_size)
            row = {"leads": count, "changing": done, "share": share, "seconds": round(elapsed, 3),
                   "idle_seconds": round(idle, 3), "states": states}
            results.append(row)
            print(f"{count:>7} leads, {done:>7} changing state ({share:.0%}): sweep {elapsed:.3f} s; "
                  f"next sweep with nothing to do {idle:.3f} s; states {states}", flush=True)
            assert idle_done == 0 and states.get("overdue") == done
        if args.escalations:
            with registry.cursor() as cr:
                # escalations on, without recomputing the leads' deadlines (as a stage write would)
                cr.execute("UPDATE crm_stage SET sla_escalate = TRUE WHERE name->>'en_US' = %s", [BENCH_STAGE])
                registry.clear_cache()
                cr.execute("""
                    UPDATE crm_lead SET sla_escalation_date = sla_deadline
                     WHERE id IN (SELECT id FROM crm_lead WHERE name LIKE 'SLA bench %%' AND sla_state = 'overdue'
                                  ORDER BY id LIMIT %s)""", [args.escalations])
            done, elapsed = time_sweep(registry, args.batch_size, escalation_batch_size=200)
            row = {"leads": count, "escalations": done, "seconds": round(elapsed, 3)}
            results.append(row)
            print(f"{count:>7} leads, {done:>7} escalations (an activity each): {elapsed:.3f} s", flush=True)
            with registry.cursor() as cr:
                cr.execute("UPDATE crm_stage SET sla_escalate = FALSE WHERE name->>'en_US' = %s", [BENCH_STAGE])
                registry.clear_cache()
                cr.execute("""
                    DELETE FROM mail_activity WHERE res_model = 'crm.lead'
                       AND res_id IN (SELECT id FROM crm_lead WHERE name LIKE 'SLA bench %%')""")
        if not args.keep:
            with registry.cursor() as cr:
                delete_bench_leads(cr)
    if args.json:
        with open(args.json, "w") as file:
            json.dump(results, file, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
