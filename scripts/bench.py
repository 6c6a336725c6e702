#!/usr/bin/env python3
"""What sales_process_stages costs (issue #7): the same N leads in a plain crm database, in a
database where Odoo's own automation rules (base_automation) run the same process, and in a
database with the addon configured, the web client's calls and the writes timed side by side.

Run by ``make bench`` (scripts/bench.sh), which builds or reuses the three databases, then::

    $PY scripts/bench.py stamp --leads N                         the data stamp the databases must carry
    $PY scripts/bench.py load -d DB --leads N [--addon | --automation]
                                                                 fill a fresh database (crm, crm + addon,
                                                                 crm + base_automation)
    $PY scripts/bench.py run --plain DB --auto DB --addon DB [--repeats 5] [--json FILE] [--check]
    $PY scripts/bench.py profile -d DB --scenario move_1000 [--output FILE]   where the time goes

The three databases hold the same data, from the same deterministic generator: 4 sales teams with
their own pipeline of 4 open stages and a folded won stage, 12 salespeople and 4 team leaders, N/5
customers, N opportunities spread over the teams and stages (half of a team's leads in its first
stage, won and lost ones too), their stage changes in the chatter, an activity on half of the open
leads, tags, followers. The addon database also configures the pipelines (checklists, fields
required to enter, SLA budgets, fixed probabilities, move policies, lost reasons) and holds what the
addon would have made of that past: checklist lines (and the activities of open ones), SLA
deadlines and states computed by the addon itself, stage history rebuilt from the chatter.

The automation database is plain crm with base_automation, the process built as a consultant
would build it without the addon: for each stage of the playbook and each checklist item with an
activity type, an automation rule "Stage is set to" the stage whose action schedules the item's
activity (its type, the item's name as summary, due in the item's days, for the salesperson, or the
pipeline's team leader). It holds the activities the addon database holds for its open checklist
lines (the same leads, types, summaries, assignees, deadlines), so that both sides read and write
leads with the same activities. The rules do the activities only: the checklist lines, SLA, stage
history, gates and fixed probabilities are the addon's, with no counterpart on that side. Their
activities are Odoo's own (``activity_schedule``): the assignee is emailed when someone else
schedules them, where the addon emails for a single lead moved only.

``run`` opens the three databases in this one process and, for each scenario and each repeat,
measures them one after the other (the order rotating per repeat), so that background load hits
all three. Each measurement runs in a transaction rolled back afterwards, with the ORM cache
emptied before it; the registries' caches stay warm, as on a running server (one warm-up run of
every scenario first). Times are medians, query counts are those of ``cr.sql_log_count`` (what
``assertQueryCount`` counts, for the call and its flush; the table shows those of the request,
what the commit runs first included).
"""

import argparse
import contextlib
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections import Counter

from lxml import etree

import odoo
from odoo import SUPERUSER_ID, api
from odoo.models import INSERT_BATCH_SIZE
from odoo.tools import SQL, config, json_default

# Bump when the generated data changes: databases with another stamp are rebuilt.
DATA_VERSION = 4
SALT = "sps-bench"
STAMP_KEY = "sales_process_stages.bench_stamp"
TZ = "Europe/Brussels"

# The pipelines: (key, team, share of the leads in %, stage names; the last one is won)
PIPELINES = [
    ("insurance", "Insurance", 40, ["Lead In", "Needs Analysis", "Quote Sent", "Underwriting", "Policy Issued"]),
    ("pv", "Photovoltaics", 25, ["Enquiry", "Site Survey", "Design & Offer", "Contract", "Installed"]),
    ("saas", "SaaS", 20, ["Trial", "Demo", "Proposal", "Negotiation", "Subscribed"]),
    ("b2b", "B2B", 15, ["New", "Qualified", "Proposition", "Negotiation", "Won"]),
]
SALESPEOPLE_PER_TEAM = 3
OPEN_STAGES = 4
# where a team's leads are (% of them): stage position 0..3 open, 4 won, else lost in a random open stage
FUNNEL = [(50, 0), (70, 1), (82, 2), (88, 3), (95, 4)]
TAGS = ["VIP", "Referral", "Trade Fair", "Website", "Partner", "Renewal", "Upsell", "Public Sector"]
PROBABILITIES = [10, 25, 50, 80, 100]

# The process the addon database runs: per stage position, the checklist items
# (name, mandatory, activity type xmlid or None, responsible, due in days), the fields required to
# enter, and the SLA (duration in days, time basis, due soon at %, escalate, notify the leader).
PLAYBOOK = [
    {
        "items": [("Qualify the contact", True, "mail.mail_activity_data_call", "salesperson", 1),
                  ("Send the brochure", False, "mail.mail_activity_data_email", "salesperson", 2)],
        "required": [],
        "sla": (2, "calendar", 75, False, False),
    },
    {
        "items": [("Needs assessment call", True, "mail.mail_activity_data_call", "salesperson", 2),
                  ("Record the budget", True, None, "salesperson", 2),
                  ("Check references", False, "mail.mail_activity_data_todo", "salesperson", 5)],
        "required": ["partner_id", "email_from"],
        "sla": (5, "working", 80, False, False),
        "activity_aware": True,
    },
    {
        "items": [("Prepare the offer", True, "mail.mail_activity_data_todo", "salesperson", 3),
                  ("Review the offer with the team leader", True, "mail.mail_activity_data_todo", "team_leader", 2)],
        "required": ["expected_revenue", "phone"],
        "sla": (7, "calendar", 80, True, False),
    },
    {
        "items": [("Collect the signed contract", True, "mail.mail_activity_data_upload_document", "salesperson", 5),
                  ("Agree on payment terms", False, "mail.mail_activity_data_todo", "salesperson", 5)],
        "required": ["date_deadline"],
        "sla": (10, "calendar", 80, True, True),
    },
]
# per pipeline: move policy, probabilities, loss policy, SLA calendar
TEAM_POLICIES = {
    "insurance": {"allow_skip_stages": False, "probability_mode": "fixed", "lost_reason_required": True},
    "pv": {"allow_move_back": False, "probability_mode": "fixed", "lost_reason_required": True},
    "saas": {"lost_reason_required": True},
    "b2b": {"won_from_last_stage": True},
}

# The measured scenarios and their goals (issue #7), on request times (the call, its flush and what
# the commit runs first: see measure()):
#   ratio          addon time / plain time
#   ratio_auto     addon time / automation time
#   added          (addon - plain) / (automation - plain): what the addon adds to plain crm, against
#                  what the automation rules doing the same work add
#   extra_queries  addon queries - plain queries
#   constant_queries  the addon's extra queries for 1000 leads moved exceed those for 100 leads by the
#                  ORM's insert batches only (see check())
#   seconds        addon time (the sweeps: addon only)
GOALS = {
    "kanban": {"ratio_auto": 1.10, "extra_queries": 2},
    "form": {"ratio": 1.2},
    "move_1": {"added": 1.0},
    "move_1000": {"added": 0.25, "constant_queries": True},
    "create_1000": {"ratio": 1.3},
    "create_1000_configured": {"added": 1.0},
    "call_queue": {"ratio": 1.5},
    "sweep_1pct": {"seconds": 1.0},
    "sweep_all": {"seconds": 10.0},
    "customer_status_sweep": {"seconds": 1.0},
    "dashboard": {"seconds": 1.0},
    "dashboard_stages": {"seconds": 1.0},
    "dashboard_funnel": {"seconds": 1.0},
}
# move_1000's queries "independent of the 1000": besides the ORM's insert batches (INSERT_BATCH_SIZE
# rows a query), the addon's extra queries for 1000 leads may exceed those for 100 leads by this many
# (see check())
FLUSH_GROUPS_TOLERANCE = 2
MOVE_MANY = 1000
CREATE_MANY = 1000
CALL_QUEUE_LEADS = 5000


# ------------------------------------------------------------
# Odoo in this process
# ------------------------------------------------------------

def init_odoo():
    config.parse_config([
        "--addons-path", os.environ["ADDONS_PATH"],
        "--db_host", os.environ.get("PGHOST", "127.0.0.1"),
        "--db_port", os.environ.get("PGPORT", "5432"),
        "--db_user", os.environ.get("PGUSER", "root"),
        "--log-level", "warn",
        "--max-cron-threads", "0",
    ])
    odoo.service.server.load_server_wide_modules()


def stamp(leads):
    return f"v{DATA_VERSION} leads={leads} salt={SALT}"


def h(expr, key, modulo):
    """SQL: a deterministic pseudo-random integer in [0, modulo) for ``expr`` (an SQL integer) and ``key``."""
    return SQL("mod(abs(hashtextextended((%s)::text || %s, 0)), %s)::int", expr, f":{SALT}:{key}", modulo)


# ------------------------------------------------------------
# load: fill a fresh database
# ------------------------------------------------------------

def load(database, leads, kind):
    """Fill a fresh database of the given kind (plain: crm; addon: crm + sales_process_stages;
    automation: crm + base_automation)."""
    registry = odoo.modules.registry.Registry(database)
    addon = kind == "addon"
    start = time.perf_counter()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {
            "tracking_disable": True, "mail_create_nolog": True, "mail_create_nosubscribe": True,
            "no_reset_password": True, "lang": "en_US", "tz": TZ,
        })
        if env["ir.config_parameter"].get_param(STAMP_KEY):
            sys.exit(f"{database} already holds benchmark data: load fills fresh databases only")
        # the addon depends on base_automation (its seeded pipelines' rules): the plain database only lacks it
        for module, wanted in (("sales_process_stages", addon), ("base_automation", kind != "plain")):
            installed = module in registry._init_modules
            if installed != wanted:
                sys.exit(f"{database}: {module} is {'' if installed else 'not '}installed")
        fixtures = create_pipelines(env)
        if addon:
            configure_process(env, fixtures)
        elif kind == "automation":
            configure_automation(env, fixtures)
        step("pipelines, users, tags", start)
        insert_partners(cr, max(leads // 5, 100))
        plan_leads(cr, leads, fixtures)
        insert_leads(cr, fixtures, addon)
        step(f"{leads} leads", start)
        insert_chatter(cr, fixtures)
        insert_activities(cr)
        step("chatter, followers, activities", start)
        if addon:
            addon_state(env, fixtures, start)
        elif kind == "automation":
            automation_state(cr, fixtures)
            step("activities of the automation rules", start)
        cr.execute("DROP TABLE bench_plan")
        env["ir.config_parameter"].set_param(STAMP_KEY, stamp(leads))
        env.flush_all()
    # the bulk load updated rows several times (the addon's state above): compact the tables, so that
    # the databases are read from tables holding only their live rows, as after a dump and restore
    compact(registry, LOADED_TABLES + (ADDON_TABLES if addon else []))
    vacuum(registry, analyze=True)
    step("vacuum full, analyze", start)


def step(what, start):
    print(f"[bench load] {time.perf_counter() - start:7.1f} s  {what}", flush=True)


LOADED_TABLES = ["res_partner", "crm_lead", "crm_tag_rel", "mail_message", "mail_tracking_value", "mail_followers",
                 "mail_followers_mail_message_subtype_rel", "mail_activity"]
ADDON_TABLES = ["crm_lead_checklist_line", "crm_lead_stage_history"]


def vacuum(registry, full=False, analyze=False, tables=()):
    options = SQL(", ").join([SQL("FULL")] * full + [SQL("ANALYZE")] * analyze)
    with registry.cursor() as cr:
        cr._cnx.autocommit = True
        for table in tables or [None]:
            cr.execute(SQL("VACUUM %s %s", SQL("(%s)", options) if full or analyze else SQL(),
                           SQL.identifier(table) if table else SQL()))
        cr._cnx.autocommit = False


def compact(registry, tables, attempts=10):
    """VACUUM FULL the tables. It keeps the row versions a transaction still running somewhere might
    see (another database's long test transaction can be enough): retry until no page holds such
    versions, so that the two databases compare tables of the same density."""
    for attempt in range(attempts):
        vacuum(registry, full=True, analyze=True, tables=tables)
        with registry.cursor() as cr:
            bloated = []
            for table in tables:
                cr.execute(SQL("""
                    SELECT pg_relation_size(%s) / current_setting('block_size')::int,
                           count(DISTINCT (ctid::text::point)[0]) FROM %s
                """, table, SQL.identifier(table)))
                pages, live_pages = cr.fetchone()
                if pages > live_pages * 1.1 + 1:
                    bloated.append(f"{table} ({pages} pages, {live_pages} with live rows)")
        if not bloated:
            return
        print(f"[bench load] VACUUM FULL kept dead rows (a transaction still running?): {', '.join(bloated)}; "
              f"retrying in 10 s ({attempt + 1}/{attempts})", flush=True)
        time.sleep(10)
    print("[bench load] WARNING: tables left with dead rows; measurements on this database are pessimistic", flush=True)


def create_pipelines(env):
    """Teams, their stages, their people, the tags: through the ORM, the same in both databases."""
    salesman = env.ref("sales_team.group_sale_salesman")
    all_leads = env.ref("sales_team.group_sale_salesman_all_leads")
    # crm's default stages are shared by every pipeline: give them to the default team, so that
    # the bench pipelines show their own stages only
    default_team = env.ref("sales_team.team_sales_department")
    env["crm.stage"].search([("team_id", "=", False)]).write({"team_id": default_team.id})
    Users = env["res.users"].with_context(no_reset_password=True)
    fixtures = {"teams": [], "stages": [], "users": [], "leaders": []}
    for key, team_name, __, stage_names in PIPELINES:
        leader = Users.create({
            "name": f"{team_name} Leader", "login": f"bench.{key}.leader", "email": f"{key}.leader@example.com",
            "groups_id": [(6, 0, all_leads.ids)], "tz": TZ, "lang": "en_US",
        })
        people = Users.create([{
            "name": f"{team_name} Salesperson {index}", "login": f"bench.{key}.sales{index}",
            "email": f"{key}.sales{index}@example.com", "groups_id": [(6, 0, salesman.ids)], "tz": TZ, "lang": "en_US",
        } for index in range(1, SALESPEOPLE_PER_TEAM + 1)])
        team = env["crm.team"].create({
            "name": team_name, "user_id": leader.id, "use_opportunities": True,
            "crm_team_member_ids": [(0, 0, {"user_id": user.id}) for user in people],
        })
        stages = env["crm.stage"].create([{
            "name": name, "team_id": team.id, "sequence": index + 1,
            "is_won": index == OPEN_STAGES, "fold": index == OPEN_STAGES,
        } for index, name in enumerate(stage_names)])
        fixtures["teams"].append(team)
        fixtures["stages"].append(stages)
        fixtures["users"].append(people)
        fixtures["leaders"].append(leader)
    fixtures["tags"] = env["crm.tag"].create([{"name": name, "color": index + 1} for index, name in enumerate(TAGS)])
    env.flush_all()
    return fixtures


def configure_process(env, fixtures):
    """The addon's configuration: checklists, entry requirements, SLA, team policies."""
    fields_by_name = {name: env["ir.model.fields"]._get("crm.lead", name).id
                      for rules in PLAYBOOK for name in rules["required"]}
    calendar = env.ref("resource.resource_calendar_std")
    for (key, *__), team, stages in zip(PIPELINES, fixtures["teams"], fixtures["stages"], strict=True):
        for position, (stage, rules) in enumerate(zip(stages, PLAYBOOK, strict=False)):  # the won stage has no playbook
            duration, basis, due_soon, escalate, notify = rules["sla"]
            stage.write({
                "required_field_ids": [(6, 0, [fields_by_name[name] for name in rules["required"]])],
                "fixed_probability": PROBABILITIES[position],
                "sla_enabled": True, "sla_duration": duration, "sla_duration_unit": "days",
                "sla_time_basis": basis, "sla_due_soon_type": "percent", "sla_due_soon_percent": due_soon,
                "sla_activity_aware": rules.get("activity_aware", False),
                "sla_escalate": escalate, "sla_notify_leader": notify, "sla_leader_delay": 1,
                "require_next_activity": key == "saas" and position == 3,
            })
            env["crm.stage.checklist.item"].create([{
                "stage_id": stage.id, "name": name, "sequence": index, "is_mandatory": mandatory,
                "activity_type_id": env.ref(activity_type).id if activity_type else False,
                "responsible_type": responsible, "due_offset": due, "due_offset_unit": "days",
            } for index, (name, mandatory, activity_type, responsible, due) in enumerate(rules["items"])])
        stages[OPEN_STAGES].fixed_probability = 100
        policy = dict(TEAM_POLICIES[key])
        if policy.pop("won_from_last_stage", False):
            policy["won_from_stage_ids"] = [(6, 0, stages[OPEN_STAGES - 1].ids)]
        team.write({**policy, "resource_calendar_id": calendar.id})
    env.flush_all()


def configure_automation(env, fixtures):
    """The same process in plain Odoo, as a consultant builds it with automation rules: for each
    stage of the playbook and each checklist item with an activity type, a rule "Stage is set to"
    the stage (on creation and on update) scheduling the item's activity, due in the item's days,
    for the lead's salesperson or, the stages being the pipeline's own, for its team leader."""
    model = env["ir.model"]._get("crm.lead")
    stage_field = env["ir.model.fields"]._get("crm.lead", "stage_id")
    vals_list, expected = [], []
    for (__, team_name, *__), stages, leader in zip(PIPELINES, fixtures["stages"], fixtures["leaders"], strict=True):
        for stage, rules in zip(stages, PLAYBOOK, strict=False):  # the won stage has no playbook
            for name, __, activity_type, responsible, due in rules["items"]:
                if not activity_type:
                    continue
                action = {
                    "name": f"Create activity: {name}", "model_id": model.id, "usage": "base_automation",
                    "state": "next_activity", "activity_type_id": env.ref(activity_type).id,
                    "activity_summary": name, "activity_date_deadline_range": due,
                    "activity_date_deadline_range_type": "days",
                }
                if responsible == "salesperson":
                    action.update(activity_user_type="generic", activity_user_field_name="user_id")
                elif responsible == "team_leader":
                    action.update(activity_user_type="specific", activity_user_id=leader.id)
                else:
                    raise ValueError(f"no automation for the responsible {responsible!r} of {name!r}")
                vals_list.append({
                    "name": f"{team_name}, {stage.name}: {name}", "model_id": model.id, "trigger": "on_stage_set",
                    "trigger_field_ids": [(6, 0, stage_field.ids)], "trg_field_ref": stage.id,
                    "action_server_ids": [(0, 0, action)],
                })
                expected.append(f"[('stage_id', '=', {stage.id})]")
    automations = env["base.automation"].create(vals_list)
    env.flush_all()
    # what the form would have made of it (the computed trigger fields and domain)
    for automation, domain in zip(automations, expected, strict=True):
        action = automation.action_server_ids
        if (automation.trigger, automation.filter_domain, len(action), action.state) != (
                "on_stage_set", domain, 1, "next_activity"):
            sys.exit(f"automation rule {automation.name!r}: trigger {automation.trigger}, domain "
                     f"{automation.filter_domain}, actions {action.mapped('state')}: not the rule meant")


def insert_partners(cr, count):
    cr.execute(SQL("""
        CREATE TEMP TABLE bench_partner AS
        WITH inserted AS (
            INSERT INTO res_partner (name, complete_name, commercial_company_name, type, active, is_company,
                                     partner_share, lang, tz, email, email_normalized, phone, color,
                                     create_uid, write_uid, create_date, write_date)
            SELECT 'Customer ' || n, 'Customer ' || n, 'Customer ' || n, 'contact', TRUE, TRUE, TRUE, 'en_US', %(tz)s,
                   'info@customer' || n || '.example.com', 'info@customer' || n || '.example.com',
                   '+32 2 555 ' || lpad(n::text, 6, '0'), 0, 1, 1, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
              FROM generate_series(1, %(count)s) n
            RETURNING id
        )
        SELECT (row_number() OVER (ORDER BY id) - 1)::int AS k, id FROM inserted
    """, tz=TZ, count=count))
    cr.execute("UPDATE res_partner p SET commercial_partner_id = p.id FROM bench_partner b WHERE p.id = b.id")
    cr.execute("CREATE UNIQUE INDEX ON bench_partner (k)")


def plan_leads(cr, leads, fixtures):
    """bench_plan: one row per lead to come, every value drawn from a hash of its number."""
    n = SQL("n")
    funnel = SQL(" ").join(SQL("WHEN %s < %s THEN %s", h(n, "funnel", 100), bound, position)
                           for bound, position in FUNNEL)
    team_bounds, total = [], 0
    for __, __, share, __ in PIPELINES:
        total += share
        team_bounds.append(total)
    team = SQL(" ").join(SQL("WHEN %s < %s THEN %s", h(n, "team", 100), bound, index)
                         for index, bound in enumerate(team_bounds))
    cr.execute("SELECT count(*) FROM bench_partner")
    partners = cr.fetchone()[0]
    cr.execute("SELECT COALESCE(max(id), 0) FROM crm_lead")
    offset = cr.fetchone()[0]
    now = SQL("(now() AT TIME ZONE 'UTC')")
    cr.execute(SQL("""
        CREATE TEMP TABLE bench_plan AS
        SELECT n, n + %(offset)s AS lead_id, team, position, lost, position = %(won)s AS won,
               %(seller)s AS seller,
               CASE WHEN %(has_partner)s < 90 THEN %(partner)s END AS partner_k,
               %(has_email)s < 95 AS has_email, %(has_phone)s < 85 AS has_phone,
               CASE WHEN %(has_revenue)s < 92 THEN 500 + 100 * %(revenue)s END AS revenue,
               %(priority)s AS priority,
               CASE WHEN %(has_deadline)s < 40 THEN %(deadline)s END AS deadline_days,
               created, entered
          FROM (
            SELECT n, team, position, lost,
                   -- open leads are younger than won and lost ones; a stay in the first stage is short
                   %(now)s - make_interval(days => CASE WHEN lost OR position = %(won)s THEN 30 + %(old)s
                                                        WHEN position = 0 THEN %(young)s ELSE 5 + %(age)s END,
                                           secs => %(secs)s) AS created,
                   %(stay)s AS stay
              FROM (
                SELECT n, CASE %(team)s END AS team,
                       CASE %(funnel)s ELSE %(lost_position)s END AS position,
                       %(lost_draw)s >= %(won_bound)s AS lost
                  FROM generate_series(1, %(leads)s) n
              ) drawn
          ) dated
          CROSS JOIN LATERAL (
            SELECT CASE WHEN position = 0 AND NOT lost THEN created
                        -- won and lost leads left their stage at least 10 days ago
                        WHEN lost OR position = %(won)s THEN created + make_interval(days => stay)
                        ELSE GREATEST(created, %(now)s - make_interval(days => stay, secs => %(secs2)s)) END AS entered
          ) entry
    """,
        offset=offset, won=OPEN_STAGES, seller=h(n, "seller", SALESPEOPLE_PER_TEAM),
        has_partner=h(n, "has_partner", 100), partner=h(n, "partner", partners),
        has_email=h(n, "has_email", 100), has_phone=h(n, "has_phone", 100),
        has_revenue=h(n, "has_revenue", 100), revenue=h(n, "revenue", 500), priority=h(n, "priority", 4),
        has_deadline=h(n, "has_deadline", 100), deadline=h(n, "deadline", 120),
        now=now, old=h(n, "old", 335), young=h(n, "young", 4), age=h(n, "age", 85), secs=h(n, "secs", 86400),
        stay=h(n, "stay", 21), secs2=h(n, "secs2", 86400),
        team=team, funnel=funnel, lost_position=h(n, "lost_position", OPEN_STAGES),
        lost_draw=h(n, "funnel", 100), won_bound=FUNNEL[-1][0], leads=leads,
    ))
    cr.execute("CREATE UNIQUE INDEX ON bench_plan (lead_id)")
    cr.execute("ANALYZE bench_plan")


def _id_arrays(fixtures):
    teams = fixtures["teams"]
    return {
        "team_ids": [team.id for team in teams],
        "leader_ids": [leader.id for leader in fixtures["leaders"]],
        "leader_partner_ids": [leader.partner_id.id for leader in fixtures["leaders"]],
        # flattened: [team * SALESPEOPLE_PER_TEAM + seller + 1], [team * 5 + position + 1]
        "user_ids": [user.id for people in fixtures["users"] for user in people],
        "user_partner_ids": [user.partner_id.id for people in fixtures["users"] for user in people],
        "stage_ids": [stage.id for stages in fixtures["stages"] for stage in stages],
        "stage_names": [stage.name for stages in fixtures["stages"] for stage in stages],
        "per_team": SALESPEOPLE_PER_TEAM,
        "per_pipeline": OPEN_STAGES + 1,
    }


def insert_leads(cr, fixtures, addon):
    ids = _id_arrays(fixtures)
    cr.execute("SELECT id FROM res_lang WHERE code = 'en_US'")
    lang_id = cr.fetchone()[0]
    cr.execute("SELECT array_agg(id ORDER BY id) FROM crm_lost_reason")
    lost_reason_ids = cr.fetchone()[0]
    cr.execute(SQL("""
        INSERT INTO crm_lead (
            id, name, type, active, company_id, team_id, stage_id, user_id, partner_id, partner_name, contact_name,
            email_from, email_normalized, phone, lang_id, expected_revenue, prorated_revenue, probability,
            automated_probability, priority, color, date_deadline, date_open, date_last_stage_update, date_closed,
            lost_reason_id, create_uid, create_date, write_uid, write_date %(addon_columns)s)
        SELECT p.lead_id, 'Opportunity ' || p.n || ' for ' || COALESCE(partner.name, 'Prospect ' || p.n),
               'opportunity', NOT p.lost, 1,
               (%(team_ids)s::int[])[p.team + 1],
               (%(stage_ids)s::int[])[p.team * %(per_pipeline)s + p.position + 1],
               (%(user_ids)s::int[])[p.team * %(per_team)s + p.seller + 1],
               partner.id, partner.name, 'Contact ' || p.n,
               CASE WHEN p.has_email THEN 'contact' || p.n || '@' || COALESCE('customer' || p.partner_k, 'prospect')
                                          || '.example.com' END,
               CASE WHEN p.has_email THEN 'contact' || p.n || '@' || COALESCE('customer' || p.partner_k, 'prospect')
                                          || '.example.com' END,
               CASE WHEN p.has_phone THEN '+32 470 ' || lpad(p.n::text, 6, '0') END,
               %(lang_id)s, p.revenue, p.revenue * prob.value / 100.0, prob.value, prob.value,
               p.priority::varchar, 0,
               (p.created + make_interval(days => p.deadline_days))::date,
               p.created, p.entered,
               CASE WHEN p.won THEN p.entered WHEN p.lost THEN p.entered + interval '1 day' END,
               CASE WHEN p.lost THEN (%(lost_reason_ids)s::int[])[1 + mod(p.n, %(lost_reasons)s)] END,
               (%(user_ids)s::int[])[p.team * %(per_team)s + p.seller + 1], p.created,
               (%(user_ids)s::int[])[p.team * %(per_team)s + p.seller + 1], p.entered %(addon_values)s
          FROM bench_plan p
          LEFT JOIN bench_partner bp ON bp.k = p.partner_k
          LEFT JOIN res_partner partner ON partner.id = bp.id
         CROSS JOIN LATERAL (
            SELECT CASE WHEN p.lost THEN 0 ELSE (%(probabilities)s::float[])[p.position + 1] END AS value
         ) prob
    """, lang_id=lang_id, lost_reason_ids=lost_reason_ids, lost_reasons=len(lost_reason_ids),
        probabilities=PROBABILITIES,
        # the addon's required columns (filled for real by addon_state)
        addon_columns=SQL(", sla_state, sla_priority") if addon else SQL(),
        addon_values=SQL(", 'none', 0") if addon else SQL(), **ids))
    cr.execute("SELECT setval('crm_lead_id_seq', (SELECT max(id) FROM crm_lead))")
    # tags on 40 % of the leads, a second one on 15 %
    cr.execute(SQL("""
        INSERT INTO crm_tag_rel (lead_id, tag_id)
        SELECT DISTINCT lead_id, (%(tag_ids)s::int[])[1 + tag]
          FROM (SELECT lead_id, %(tag1)s AS tag FROM bench_plan WHERE %(draw)s < 40
                UNION ALL
                SELECT lead_id, %(tag2)s FROM bench_plan WHERE %(draw)s < 15) tags
    """, tag_ids=fixtures["tags"].ids, tag1=h(SQL("n"), "tag1", len(TAGS)), tag2=h(SQL("n"), "tag2", len(TAGS)),
        draw=h(SQL("n"), "tags", 100)))


def insert_chatter(cr, fixtures):
    """The leads' chatter as Odoo would have written it: a creation message, one tracking message per
    stage change (the source of the stage durations, and of the addon's stage history), a lost
    message; the salesperson follows the lead."""
    ids = _id_arrays(fixtures)
    cr.execute("SELECT id FROM ir_model_fields WHERE model = 'crm.lead' AND name = 'stage_id'")
    field_id = cr.fetchone()[0]
    cr.execute("""SELECT name, res_id FROM ir_model_data WHERE module = 'crm'
                  AND name IN ('mt_lead_create', 'mt_lead_stage', 'mt_lead_won', 'mt_lead_lost')""")
    subtypes = dict(cr.fetchall())
    cr.execute(SQL("""
        INSERT INTO mail_message (model, res_id, record_name, record_company_id, message_type, subtype_id, author_id,
                                  body, is_internal, date, create_uid, create_date, write_uid, write_date)
        SELECT 'crm.lead', lead.id, lead.name, 1, 'notification', %(create)s,
               (%(user_partner_ids)s::int[])[p.team * %(per_team)s + p.seller + 1],
               '<p>Opportunity created</p>', FALSE, p.created, lead.create_uid, p.created, lead.create_uid, p.created
          FROM bench_plan p JOIN crm_lead lead ON lead.id = p.lead_id
    """, create=subtypes["mt_lead_create"], **ids))
    # stage changes: move i (1..position) from stage i-1 to stage i, evenly spread until the entry
    cr.execute(SQL("""
        CREATE TEMP TABLE bench_move AS
        SELECT nextval('mail_message_id_seq') AS message_id, p.lead_id, p.team, p.seller, i,
               p.team * %(per_pipeline)s + i AS old_index, p.team * %(per_pipeline)s + i + 1 AS new_index,
               p.created + (p.entered - p.created) * i / p.position AS date, i = %(won)s AS won
          FROM bench_plan p, generate_series(1, p.position) i
         WHERE p.position > 0
    """, won=OPEN_STAGES, **ids))
    cr.execute(SQL("""
        INSERT INTO mail_message (id, model, res_id, record_name, record_company_id, message_type, subtype_id,
                                  author_id, body, is_internal, date, create_uid, create_date, write_uid, write_date)
        SELECT m.message_id, 'crm.lead', m.lead_id, lead.name, 1, 'notification',
               CASE WHEN m.won THEN %(won)s ELSE %(stage)s END,
               (%(user_partner_ids)s::int[])[m.team * %(per_team)s + m.seller + 1], '', FALSE,
               m.date, lead.create_uid, m.date, lead.create_uid, m.date
          FROM bench_move m JOIN crm_lead lead ON lead.id = m.lead_id
    """, won=subtypes["mt_lead_won"], stage=subtypes["mt_lead_stage"], **ids))
    cr.execute(SQL("""
        INSERT INTO mail_tracking_value (field_id, mail_message_id, old_value_integer, new_value_integer,
                                         old_value_char, new_value_char, create_uid, create_date, write_uid, write_date)
        SELECT %(field_id)s, m.message_id, (%(stage_ids)s::int[])[m.old_index], (%(stage_ids)s::int[])[m.new_index],
               (%(stage_names)s::varchar[])[m.old_index], (%(stage_names)s::varchar[])[m.new_index],
               1, m.date, 1, m.date
          FROM bench_move m
    """, field_id=field_id, **ids))
    cr.execute(SQL("""
        INSERT INTO mail_message (model, res_id, record_name, record_company_id, message_type, subtype_id, author_id,
                                  body, is_internal, date, create_uid, create_date, write_uid, write_date)
        SELECT 'crm.lead', lead.id, lead.name, 1, 'notification', %(lost)s,
               (%(user_partner_ids)s::int[])[p.team * %(per_team)s + p.seller + 1], '', FALSE,
               lead.date_closed, lead.create_uid, lead.date_closed, lead.create_uid, lead.date_closed
          FROM bench_plan p JOIN crm_lead lead ON lead.id = p.lead_id
         WHERE p.lost
    """, lost=subtypes["mt_lead_lost"], **ids))
    cr.execute("DROP TABLE bench_move")
    cr.execute("SELECT id FROM mail_message_subtype WHERE \"default\" AND res_model IS NULL")
    default_subtypes = [row[0] for row in cr.fetchall()]
    cr.execute(SQL("""
        WITH followers AS (
            INSERT INTO mail_followers (res_model, res_id, partner_id)
            SELECT 'crm.lead', p.lead_id, (%(user_partner_ids)s::int[])[p.team * %(per_team)s + p.seller + 1]
              FROM bench_plan p
            RETURNING id
        )
        INSERT INTO mail_followers_mail_message_subtype_rel (mail_followers_id, mail_message_subtype_id)
        SELECT followers.id, subtype FROM followers, unnest(%(subtypes)s::int[]) subtype
    """, subtypes=default_subtypes, **ids))


def insert_activities(cr):
    """An activity planned on half of the open leads, by their salesperson: some late, some today, most to come."""
    cr.execute("""SELECT array_agg(res_id ORDER BY name) FROM ir_model_data WHERE module = 'mail'
                  AND name IN ('mail_activity_data_call', 'mail_activity_data_email', 'mail_activity_data_todo')""")
    type_ids = cr.fetchone()[0]
    cr.execute("SELECT id FROM ir_model WHERE model = 'crm.lead'")
    model_id = cr.fetchone()[0]
    n = SQL("p.n")
    cr.execute(SQL("""
        INSERT INTO mail_activity (res_model_id, res_model, res_id, res_name, activity_type_id, summary, user_id,
                                   user_tz, date_deadline, automated, active, create_uid, create_date, write_uid,
                                   write_date)
        SELECT %(model_id)s, 'crm.lead', lead.id, lead.name, (%(type_ids)s::int[])[1 + %(type)s],
               (ARRAY['Call back', 'Send the documentation', 'Follow up'])[1 + %(type)s], lead.user_id, %(tz)s,
               (now() AT TIME ZONE 'UTC')::date + %(day)s - 7, FALSE, TRUE,
               lead.user_id, lead.date_last_stage_update, lead.user_id, lead.date_last_stage_update
          FROM bench_plan p JOIN crm_lead lead ON lead.id = p.lead_id
         WHERE NOT p.lost AND NOT p.won AND %(draw)s < 50
    """, model_id=model_id, type_ids=type_ids, type=h(n, "activity_type", 3), tz=TZ,
        day=h(n, "activity_day", 30), draw=h(n, "activity", 100)))


def addon_state(env, fixtures, start):
    """What the addon would hold for these leads: checklist lines of the stages they went through
    (with the activities of the open ones), their progress, the SLA of their stay, holds, the
    stage history. The SLA is computed by the addon itself, the history rebuilt by it."""
    cr = env.cr
    ids = _id_arrays(fixtures)
    cr.execute("SELECT id FROM ir_model WHERE model = 'crm.lead'")
    model_id = cr.fetchone()[0]
    # the items, by team and stage position
    cr.execute(SQL("""
        CREATE TEMP TABLE bench_item AS
        SELECT item.id AS item_id, item.stage_id, stage.sequence AS stage_sequence,
               array_position(%(stage_ids)s::int[], item.stage_id) - 1 AS stage_index,
               item.name, item.description, item.sequence, item.is_mandatory, item.needs_attachment,
               item.activity_type_id, item.responsible_type, item.due_offset, item.completer_type,
               item.completer_user_id, item.completer_group_id
          FROM crm_stage_checklist_item item JOIN crm_stage stage ON stage.id = item.stage_id
    """, **ids))
    # lines of every stage up to the lead's: done in the stages it left (optional ones skipped at times),
    # in its stage mandatory ones done for 40 % of the leads, optional ones for 30 %
    n = SQL("p.n * 100 + i.item_id")
    cr.execute(SQL("""
        INSERT INTO crm_lead_checklist_line (
            lead_id, company_id, stage_id, stage_sequence, item_id, name, description, sequence, is_mandatory,
            needs_attachment, completer_type, completer_user_id, completer_group_id, user_id, date_deadline, state,
            done_date, done_user_id, skip_reason)
        SELECT p.lead_id, 1, i.stage_id, i.stage_sequence, i.item_id, i.name, i.description, i.sequence, i.is_mandatory,
               i.needs_attachment, i.completer_type, i.completer_user_id, i.completer_group_id, line_info.user_id,
               (stay.date_in + make_interval(days => i.due_offset))::date,
               state.value, CASE WHEN state.value <> 'open' THEN stay.date_in + (stay.date_out - stay.date_in) / 2 END,
               CASE WHEN state.value <> 'open' THEN line_info.user_id END,
               CASE WHEN state.value = 'skipped' THEN 'Not needed for this customer' END
          FROM bench_plan p
          JOIN bench_item i ON i.stage_index / %(per_pipeline)s = p.team
                           AND mod(i.stage_index, %(per_pipeline)s) <= LEAST(p.position, %(last_open)s)
         CROSS JOIN LATERAL (
            SELECT mod(i.stage_index, %(per_pipeline)s) AS position,
                   CASE WHEN i.responsible_type = 'team_leader' THEN (%(leader_ids)s::int[])[p.team + 1]
                        ELSE (%(user_ids)s::int[])[p.team * %(per_team)s + p.seller + 1] END AS user_id
         ) line_info
         CROSS JOIN LATERAL (
            SELECT p.created + (p.entered - p.created) * line_info.position / GREATEST(p.position, 1) AS date_in,
                   CASE WHEN line_info.position < p.position
                        THEN p.created + (p.entered - p.created) * (line_info.position + 1) / GREATEST(p.position, 1)
                        ELSE now() AT TIME ZONE 'UTC' END AS date_out
         ) stay
         CROSS JOIN LATERAL (
            SELECT CASE WHEN line_info.position < p.position OR p.won
                        THEN CASE WHEN NOT i.is_mandatory AND %(skip)s < 20 THEN 'skipped' ELSE 'done' END
                        WHEN i.is_mandatory AND %(done)s < 40 THEN 'done'
                        WHEN NOT i.is_mandatory AND %(done)s < 30 THEN 'done'
                        ELSE 'open' END AS value
         ) state
    """, last_open=OPEN_STAGES - 1, skip=h(n, "skip", 100), done=h(SQL("p.n"), "done", 100), **ids))
    step("checklist lines", start)
    # the activities of the open lines of open leads, linked to their lines
    cr.execute(SQL("""
        CREATE TEMP TABLE bench_line_activity AS
        SELECT nextval('mail_activity_id_seq') AS activity_id, line.id AS line_id
          FROM crm_lead_checklist_line line
          JOIN bench_item i ON i.item_id = line.item_id
          JOIN bench_plan p ON p.lead_id = line.lead_id
         WHERE line.state = 'open' AND i.activity_type_id IS NOT NULL AND NOT p.lost AND NOT p.won
    """))
    cr.execute(SQL("""
        INSERT INTO mail_activity (id, res_model_id, res_model, res_id, res_name, activity_type_id, summary, user_id,
                                   user_tz, date_deadline, automated, active, create_uid, create_date, write_uid,
                                   write_date)
        SELECT a.activity_id, %(model_id)s, 'crm.lead', line.lead_id, lead.name, i.activity_type_id,
               line.name->>'en_US', line.user_id, %(tz)s, line.date_deadline, FALSE, TRUE,
               1, p.entered, 1, p.entered
          FROM bench_line_activity a
          JOIN crm_lead_checklist_line line ON line.id = a.line_id
          JOIN bench_item i ON i.item_id = line.item_id
          JOIN crm_lead lead ON lead.id = line.lead_id
          JOIN bench_plan p ON p.lead_id = line.lead_id
    """, model_id=model_id, tz=TZ))
    cr.execute("""
        UPDATE crm_lead_checklist_line line SET activity_id = a.activity_id
          FROM bench_line_activity a WHERE a.line_id = line.id
    """)
    cr.execute("DROP TABLE bench_line_activity")
    cr.execute("DROP TABLE bench_item")
    # stored progress of the current stage's mandatory items; the stage a lost lead was lost in
    cr.execute("""
        UPDATE crm_lead lead
           SET checklist_mandatory_total = progress.total, checklist_mandatory_done = progress.done,
               checklist_progress = CASE WHEN progress.total > 0 THEN 100.0 * progress.done / progress.total ELSE 0 END
          FROM (SELECT line.lead_id, count(*) AS total, count(*) FILTER (WHERE line.state <> 'open') AS done
                  FROM crm_lead_checklist_line line JOIN crm_lead lead ON lead.id = line.lead_id
                 WHERE line.stage_id = lead.stage_id AND line.is_mandatory
                 GROUP BY line.lead_id) progress
         WHERE progress.lead_id = lead.id
    """)
    cr.execute("""
        UPDATE crm_lead lead SET checklist_mandatory_total = 0, checklist_mandatory_done = 0, checklist_progress = 0
         WHERE checklist_mandatory_total IS NULL
    """)
    cr.execute("UPDATE crm_lead SET lost_stage_id = stage_id WHERE NOT active")
    # 1 % of the open leads on hold
    n = SQL("p.n")
    cr.execute(SQL("""
        UPDATE crm_lead lead
           SET sla_hold_until = (now() AT TIME ZONE 'UTC')::date + 7 + %(days)s,
               sla_hold_reason = 'Customer on vacation',
               sla_hold_start = GREATEST(lead.date_last_stage_update, (now() AT TIME ZONE 'UTC') - interval '2 days')
          FROM bench_plan p
         WHERE p.lead_id = lead.id AND NOT p.lost AND NOT p.won AND %(draw)s = 0
    """, days=h(n, "hold_days", 21), draw=h(n, "hold", 100)))
    # the clock of each stay started when the lead entered its stage
    cr.execute("UPDATE crm_lead SET sla_start_date = date_last_stage_update, sla_paused_hours = 0 WHERE active")
    env.invalidate_all()
    step("activities of the checklists, progress, holds", start)
    env["crm.lead"]._sla_recompute_search([])
    step("SLA (crm.lead._sla_recompute_search)", start)
    env["crm.lead.stage.history"]._rebuild_from_tracking()
    step("stage history (crm.lead.stage.history._rebuild_from_tracking)", start)


def automation_state(cr, fixtures):
    """What the automation rules would have scheduled for these leads: the activities the addon
    database holds for the open checklist lines of open leads (see addon_state: the same leads,
    types, summaries, assignees, deadlines and dates), without checklist lines."""
    ids = _id_arrays(fixtures)
    cr.execute("SELECT id FROM ir_model WHERE model = 'crm.lead'")
    model_id = cr.fetchone()[0]
    # the items with an activity type, by team and stage position (addon_state's bench_item)
    cr.execute("""CREATE TEMP TABLE bench_item (stage_index int, is_mandatory bool, activity_type_id int,
                                                responsible_type varchar, due_offset int, name varchar)""")
    types = {}
    for team in range(len(PIPELINES)):
        for position, rules in enumerate(PLAYBOOK):
            for name, mandatory, activity_type, responsible, due in rules["items"]:
                if activity_type:
                    if activity_type not in types:
                        module, xmlid = activity_type.split(".")
                        cr.execute("SELECT res_id FROM ir_model_data WHERE module = %s AND name = %s",
                                   [module, xmlid])
                        types[activity_type] = cr.fetchone()[0]
                    cr.execute("INSERT INTO bench_item VALUES (%s, %s, %s, %s, %s, %s)",
                               [team * (OPEN_STAGES + 1) + position, mandatory, types[activity_type], responsible,
                                due, name])
    # the open lines of addon_state: the items of the lead's stage, not done (mandatory ones are done for
    # 40 % of the leads, optional ones for 30 %); their stay started when the lead entered its stage
    cr.execute(SQL("""
        INSERT INTO mail_activity (res_model_id, res_model, res_id, res_name, activity_type_id, summary, user_id,
                                   user_tz, date_deadline, automated, active, create_uid, create_date, write_uid,
                                   write_date)
        SELECT %(model_id)s, 'crm.lead', lead.id, lead.name, i.activity_type_id, i.name,
               CASE WHEN i.responsible_type = 'team_leader' THEN (%(leader_ids)s::int[])[p.team + 1]
                    ELSE (%(user_ids)s::int[])[p.team * %(per_team)s + p.seller + 1] END,
               %(tz)s, (stay.date_in + make_interval(days => i.due_offset))::date, FALSE, TRUE,
               1, p.entered, 1, p.entered
          FROM bench_plan p
          JOIN crm_lead lead ON lead.id = p.lead_id
          JOIN bench_item i ON i.stage_index / %(per_pipeline)s = p.team
                           AND mod(i.stage_index, %(per_pipeline)s) = p.position
         CROSS JOIN LATERAL (
            SELECT p.created + (p.entered - p.created) * p.position / GREATEST(p.position, 1) AS date_in
         ) stay
         WHERE NOT p.lost AND NOT p.won
           AND NOT (CASE WHEN i.is_mandatory THEN %(done)s < 40 ELSE %(done)s < 30 END)
    """, model_id=model_id, tz=TZ, done=h(SQL("p.n"), "done", 100), **ids))
    cr.execute("DROP TABLE bench_item")


def main_load(args):
    init_odoo()
    load(args.database, args.leads, "addon" if args.addon else "automation" if args.automation else "plain")
    return 0


# ------------------------------------------------------------
# run: the web client's calls and the writes, plain and addon side by side
# ------------------------------------------------------------

# widgets' extra fields (their fieldDependencies / relatedFields in the web client's JS)
WIDGET_DEPENDENCIES = {
    "kanban_activity": ["activity_exception_decoration", "activity_exception_icon", "activity_state",
                        "activity_summary", "activity_type_icon", "activity_type_id"],
    "list_activity": ["activity_exception_decoration", "activity_exception_icon", "activity_state",
                      "activity_summary", "activity_type_icon", "activity_type_id"],
    "activity_exception": ["activity_exception_icon"],
    "statusbar_duration": ["duration_tracking"],
    "image": ["write_date"],
}
X2MANY_WIDGET_FIELDS = {
    "many2many_tags": ["display_name"],
    "many2many_tags_avatar": ["display_name"],
    "many2many_avatar_user": ["display_name"],
    "many2many_tags_email": ["display_name", "email"],
    "many2many_binary": ["name", "mimetype"],
}


def _own_field_nodes(node):
    """The <field> nodes of a view, not those of its x2many fields' subviews."""
    for child in node:
        if not isinstance(child.tag, str):
            continue
        if child.tag == "field":
            yield child
        else:
            yield from _own_field_nodes(child)


def fields_spec(root, model, models, view_type):
    """The ``specification`` the web client sends for a view (web/static/src/model/relational_model/
    utils.js::getFieldsSpec): many2ones with their display name, x2manys with their subview's or
    widget's fields, widgets' dependencies."""
    fields = models[model]["fields"]
    spec = {}
    definition_records = []

    def add(name, node=None):
        field_spec = spec.setdefault(name, {})
        info = fields.get(name)
        if info is None:  # a widget's dependency the view does not declare: the web client reads it as is
            return
        invisible = node is not None and node.get("invisible") in ("1", "True")
        if info["type"] in ("many2one", "reference"):
            field_spec.setdefault("fields", {})
            if not invisible:
                field_spec["fields"]["display_name"] = {}
        elif info["type"] in ("one2many", "many2many") and node is not None and not invisible:
            widget = node.get("widget") or ("many2many_tags" if view_type == "kanban" and info["type"] == "many2many"
                                            else None)
            options = eval_options(node.get("options"))
            subviews = {child.tag: child for child in node if isinstance(child.tag, str)}
            if widget in X2MANY_WIDGET_FIELDS:
                names = list(X2MANY_WIDGET_FIELDS[widget])
                if options.get("color_field"):
                    names.append(options["color_field"])
                field_spec["fields"] = {name: {} for name in names}
            elif "list" in subviews or "kanban" in subviews:
                subview = subviews.get("list", subviews.get("kanban"))
                field_spec["fields"] = fields_spec(subview, info["relation"], models, subview.tag)
                field_spec["limit"] = int(subview.get("limit") or 40)
                if subview.get("default_order"):
                    field_spec["order"] = subview.get("default_order")
        elif info["type"] == "properties":
            definition_records.append(info["definition_record"])

    for node in _own_field_nodes(root):
        add(node.get("name"), node)
        for dependency in WIDGET_DEPENDENCIES.get(node.get("widget"), ()):
            if dependency not in spec:
                add(dependency)
    if root.tag == "kanban" and root.get("highlight_color"):
        add(root.get("highlight_color"))
    for name in definition_records:
        spec.setdefault(name, {}).setdefault("fields", {})["display_name"] = {}
    return spec


def eval_options(options):
    from odoo.tools.safe_eval import safe_eval
    return safe_eval(options or "{}", {"True": True, "False": False, "None": None})


class Side:
    """One database, its fixtures, a cursor whose transactions are rolled back after each measurement."""

    def __init__(self, name, database):
        self.name = name
        self.database = database
        self.registry = odoo.modules.registry.Registry(database)
        self.cr = self.registry.cursor()
        self.has_addon = "sales_process_stages" in self.registry._init_modules
        # the automation side: base_automation without the addon (which depends on it)
        self.has_automation = "base_automation" in self.registry._init_modules and not self.has_addon
        env = api.Environment(self.cr, SUPERUSER_ID, {})
        if not env["ir.config_parameter"].get_param(STAMP_KEY):
            sys.exit(f"{database} holds no benchmark data (scripts/bench.sh builds it)")
        Users = env["res.users"].with_context(active_test=False)
        self.salesman = Users.search([("login", "=", "bench.insurance.sales1")])
        self.leader = Users.search([("login", "=", "bench.insurance.leader")])
        self.team = self.salesman.sale_team_id
        self.stages = env["crm.stage"].search([("team_id", "=", self.team.id)], order="sequence, id")
        self.cr.execute("SELECT count(*), count(*) FILTER (WHERE active) FROM crm_lead")
        self.leads, self.active_leads = self.cr.fetchone()
        self.cr.execute("SELECT count(*) FROM mail_activity WHERE res_model = 'crm.lead'")
        self.activities = self.cr.fetchone()[0]
        self.cr.execute("SELECT count(*) FROM base_automation WHERE active" if self.has_automation else "SELECT 0")
        self.automations = self.cr.fetchone()[0]
        # the salesperson's pipeline, as the "My Pipeline" menu opens it
        Team = self.user_env(self.salesman)["crm.team"]
        action = Team.action_your_pipeline()
        from odoo.tools.safe_eval import safe_eval
        self.kanban_context = {**self.context(self.salesman), **action["context"]}
        views = self.user_env(self.salesman, self.kanban_context)["crm.lead"].get_views(
            [[view_id, view_type] for view_id, view_type in action["views"] if view_type in ("kanban", "form")]
            + [[action.get("search_view_id") and action["search_view_id"][0], "search"]],
            {"action_id": action["id"], "load_filters": True, "toolbar": True})
        kanban = etree.fromstring(views["views"]["kanban"]["arch"])
        form = etree.fromstring(views["views"]["form"]["arch"])
        search = etree.fromstring(views["views"]["search"]["arch"])
        self.kanban_spec = fields_spec(kanban, "crm.lead", views["models"], "kanban")
        self.form_spec = fields_spec(form, "crm.lead", views["models"], "form")
        lead_fields = views["models"]["crm.lead"]["fields"]
        self.kanban_aggregates = [f"{name}:{lead_fields[name]['aggregator']}" for name in self.kanban_spec
                                  if lead_fields[name].get("aggregator")]
        progressbar = kanban.find("progressbar")
        self.progress_bar = {"field": progressbar.get("field"), "colors": json.loads(progressbar.get("colors")),
                             "sum_field": progressbar.get("sum_field"), "help": progressbar.get("help")}
        # the action's domain and the search view's default filters (search_default_*)
        defaults = [key[len("search_default_"):] for key, value in action["context"].items()
                    if key.startswith("search_default_") and value]
        domain = safe_eval(action.get("domain") or "[]", {"uid": self.salesman.id})
        for node in search.iter("filter"):
            if node.get("name") in defaults and node.get("domain"):
                domain += safe_eval(node.get("domain"), {"uid": self.salesman.id})
        self.kanban_domain = domain
        # the leads moved: the first leads of the pipeline's first stage that have what its second stage requires
        self.cr.execute("""
            SELECT id FROM crm_lead
             WHERE team_id = %s AND stage_id = %s AND active AND partner_id IS NOT NULL AND email_from IS NOT NULL
             ORDER BY user_id = %s DESC, id LIMIT %s
        """, [self.team.id, self.stages[0].id, self.salesman.id, MOVE_MANY])
        self.move_ids = [row[0] for row in self.cr.fetchall()]
        # the lead opened: the salesperson's first lead in the second stage
        self.cr.execute("SELECT min(id) FROM crm_lead WHERE user_id = %s AND stage_id = %s AND active",
                        [self.salesman.id, self.stages[1].id])
        self.form_id = self.cr.fetchone()[0]
        # the leads created: as an import of the team leader's, for the teams' salespeople; half of
        # them for known customers (their email and phone), half for new prospects. Into the first stage
        # of the salespeople's pipelines (configured: create_1000_configured), or of the default sales
        # team's pipeline, crm's own stages (configured on no side: create_1000)
        self.cr.execute("SELECT id, email, phone FROM res_partner WHERE name LIKE 'Customer %%' ORDER BY id LIMIT %s",
                        [CREATE_MANY])
        partners = self.cr.fetchall()
        self.cr.execute("SELECT id, sale_team_id FROM res_users WHERE login LIKE 'bench.%%.sales%%' ORDER BY id")
        sellers = self.cr.fetchall()
        default_team = env.ref("sales_team.team_sales_department")
        self.create_vals_configured = []
        for index in range(CREATE_MANY):
            vals = {"name": f"Imported opportunity {index}", "type": "opportunity",
                    "expected_revenue": 1000 + 10 * index, "contact_name": f"Imported contact {index}",
                    "user_id": sellers[index % len(sellers)][0], "team_id": sellers[index % len(sellers)][1]}
            if index % 2:
                partner_id, email, phone = partners[index % len(partners)]
                vals.update(partner_id=partner_id, email_from=email, phone=phone)
            else:
                vals.update(partner_name=f"Prospect {index}", email_from=f"imported{index}@prospect.example.com",
                            phone=f"+32 470 9{index:05d}")
            self.create_vals_configured.append(vals)
        self.create_vals = [{**vals, "team_id": default_team.id} for vals in self.create_vals_configured]
        # the activities the leads moved hold of the mandatory items of the first stage (automation side:
        # the activities its rules scheduled, by their summary)
        self.ready_summaries = [name for name, mandatory, activity_type, *__ in PLAYBOOK[0]["items"]
                                if mandatory and activity_type]
        self.cr.rollback()

    def context(self, user):
        return {"lang": "en_US", "tz": TZ, "uid": user.id, "allowed_company_ids": [user.company_id.id]}

    def user_env(self, user, context=None):
        return api.Environment(self.cr, user.id, context or self.context(user))

    def call(self, user, method, args, kwargs, context=None, model="crm.lead"):
        """A JSON-RPC call_kw of the web client: the method, then the response serialized."""
        env = self.user_env(user, context)
        result = api.call_kw(env[model], method, args, {**kwargs, "context": context or self.context(user)})
        json.dumps(result, ensure_ascii=False, default=json_default)
        return result

    def next_request(self):
        """Read-only scenarios: the web client's next call is another request, in its own transaction
        (nothing cached from the previous one but the registry's caches)."""
        self.cr.rollback()

    def make_ready(self, lead_ids):
        """Rules satisfied: the leads' open mandatory items of the first stage are done (their
        activities with them), as their salespeople would have done before moving them; on the
        automation side, the activities of those items are done."""
        if self.has_automation:
            # the salespeople marked the activities of the mandatory items done (done activities are deleted)
            self.cr.execute("""
                DELETE FROM mail_activity WHERE res_model = 'crm.lead' AND res_id = ANY(%s) AND summary = ANY(%s)
            """, [lead_ids, self.ready_summaries])
        if not self.has_addon:
            return
        self.cr.execute("""
            WITH done AS (
                UPDATE crm_lead_checklist_line
                   SET state = 'done', done_date = now() AT TIME ZONE 'UTC', done_user_id = user_id, activity_id = NULL
                 WHERE lead_id = ANY(%(ids)s) AND stage_id = %(stage)s AND state = 'open' AND is_mandatory
             RETURNING activity_id
            )
            DELETE FROM mail_activity WHERE id IN (SELECT activity_id FROM done)
        """, {"ids": lead_ids, "stage": self.stages[0].id})
        self.cr.execute("""
            UPDATE crm_lead SET checklist_mandatory_done = checklist_mandatory_total, checklist_progress = 100
             WHERE id = ANY(%s) AND checklist_mandatory_total > 0
        """, [lead_ids])

    def close(self):
        self.cr.rollback()
        self.cr.close()


# ------------------------------------------------------------
# the scenarios: each one returns the function measured (after its untimed preparation)
# ------------------------------------------------------------

def scenario_kanban(side):
    def run():
        context = side.kanban_context
        groups = side.call(side.salesman, "web_read_group", [], {
            "domain": side.kanban_domain, "fields": side.kanban_aggregates, "groupby": ["stage_id"],
            "orderby": "", "lazy": True, "offset": 0, "limit": None}, context)
        side.next_request()
        side.call(side.salesman, "read_progress_bar", [], {
            "domain": side.kanban_domain, "group_by": "stage_id", "progress_bar": side.progress_bar}, context)
        for group in groups["groups"]:
            if group.get("__fold") or not group["stage_id_count"]:
                continue
            side.next_request()
            side.call(side.salesman, "web_search_read", [], {
                "domain": group["__domain"], "specification": side.kanban_spec, "offset": 0, "limit": 80,
                "order": "", "count_limit": 10001},
                {**context, "bin_size": True, "default_stage_id": group["stage_id"][0]})
    return run


def scenario_form(side):
    def run():
        side.call(side.salesman, "web_read", [[side.form_id]], {"specification": side.form_spec},
                  {**side.context(side.salesman), "bin_size": True})
    return run


def scenario_move_1(side):
    """A card dropped in the next column: web_save with the card's fields."""
    lead_ids = side.move_ids[:1]
    side.make_ready(lead_ids)

    def run():
        side.call(side.salesman, "web_save", [lead_ids, {"stage_id": side.stages[1].id}],
                  {"specification": side.kanban_spec}, side.kanban_context)
    return run


def scenario_move(count):
    def scenario(side):
        # fewer leads: spread over the 1000 (the same salespeople and customers), to compare query counts
        lead_ids = side.move_ids[::max(len(side.move_ids) // count, 1)][:count]
        side.make_ready(lead_ids)

        def run():
            side.call(side.leader, "write", [lead_ids, {"stage_id": side.stages[1].id}], {})
        return run
    return scenario


def scenario_create(configured):
    def scenario(side):
        vals_list = side.create_vals_configured if configured else side.create_vals

        def run():
            side.call(side.leader, "create", [vals_list], {})
        return run
    return scenario


def scenario_call_queue(side):
    """One salesperson with CALL_QUEUE_LEADS open leads: on the addon side, the first page of *My Call
    Queue*; on the others, the first page of Odoo's "My Pipeline" in list view, the same leads."""
    side.cr.execute("""
        UPDATE crm_lead SET user_id = %s
         WHERE id IN (SELECT id FROM crm_lead WHERE active AND probability < 100 ORDER BY id LIMIT %s)
    """, [side.salesman.id, CALL_QUEUE_LEADS])
    env = side.user_env(side.salesman)
    if side.has_addon:
        action = env["ir.actions.act_window"]._for_xml_id("sales_process_stages.crm_lead_call_queue_action_my")
        model, domain = "crm.lead.call.queue", [("user_id", "=", side.salesman.id)]
        views = env[model].get_views([[False, "list"]], {"action_id": action["id"]})
    else:
        model, domain = "crm.lead", side.kanban_domain
        action = env["crm.team"].action_your_pipeline()
        views = env[model].with_context(side.kanban_context).get_views(
            [[view_id, view_type] for view_id, view_type in action["views"] if view_type == "list"],
            {"action_id": action["id"]})
    spec = fields_spec(etree.fromstring(views["views"]["list"]["arch"]), model, views["models"], "list")
    context = {**side.context(side.salesman), **(side.kanban_context if model == "crm.lead" else {})}

    def run():
        side.call(side.salesman, "web_search_read", [], {
            "domain": domain, "specification": spec, "offset": 0, "limit": 80, "order": "", "count_limit": 10001},
            {**context, "bin_size": True}, model=model)
    return run


SLA_COLUMNS = ["sla_state", "sla_priority", "sla_deadline", "sla_due_soon_date", "sla_escalation_date",
               "sla_leader_date", "sla_escalated_date", "sla_leader_notified_date"]


def scenario_sweep(share):
    def scenario(side):
        # running SLAs on track, ``share`` of them (by id) past their deadline: the sweep turns them overdue.
        # Committed and vacuumed, as the scheduler finds the leads (restore_sla puts the data back afterwards).
        side.cr.execute("""
            UPDATE crm_lead
               SET sla_state = 'on_track', sla_priority = 1, sla_escalation_date = NULL, sla_leader_date = NULL,
                   sla_deadline = now() AT TIME ZONE 'UTC' + CASE WHEN mod(id, %(modulo)s) = 0
                                  THEN interval '-1 minute' ELSE interval '1 day' END,
                   sla_due_soon_date = now() AT TIME ZONE 'UTC' + CASE WHEN mod(id, %(modulo)s) = 0
                                       THEN interval '-5 hours' ELSE interval '19 hours' END
             WHERE sla_state <> 'none'
        """, {"modulo": max(round(1 / share), 1)})
        side.cr.commit()
        vacuum(side.registry, analyze=True, tables=["crm_lead"])

        def run():
            # as the scheduled action runs it: batches of 10000 leads, a commit after each
            env = api.Environment(side.cr, SUPERUSER_ID, {})
            env["crm.lead"]._cron_sweep_sla(batch_size=10000, auto_commit=True)
        return run
    return scenario


def backup_sla(side):
    restore_sla(side)
    side.cr.execute(SQL("CREATE TABLE bench_sla_backup AS SELECT id, %s FROM crm_lead WHERE sla_state <> 'none'",
                        SQL(", ").join(map(SQL.identifier, SLA_COLUMNS))))
    side.cr.commit()


def restore_sla(side):
    """The SLA values the sweeps changed, back as the data was built (after an interrupted run too)."""
    side.cr.execute("SELECT to_regclass('bench_sla_backup')")
    if not side.cr.fetchone()[0]:
        side.cr.rollback()
        return
    side.cr.execute(SQL("UPDATE crm_lead lead SET %s FROM bench_sla_backup backup WHERE backup.id = lead.id",
                        SQL(", ").join(SQL("%s = backup.%s", SQL.identifier(c), SQL.identifier(c))
                                       for c in SLA_COLUMNS)))
    side.cr.execute("DROP TABLE bench_sla_backup")
    side.cr.commit()
    compact(side.registry, ["crm_lead"])


SCENARIOS = [
    # name, title, function, sides, mutating
    ("kanban", "pipeline kanban (web_read_group, read_progress_bar, web_search_read per column)",
     scenario_kanban, False),
    ("form", "open a lead (web_read, form fields)", scenario_form, False),
    ("move_1", "move 1 lead to the next stage (web_save)", scenario_move_1, True),
    ("move_100", "move 100 leads to the next stage (write)", scenario_move(100), True),
    ("move_1000", "move 1000 leads to the next stage (write)", scenario_move(MOVE_MANY), True),
    ("create_1000", "create 1000 leads in an unconfigured stage (create)", scenario_create(False), True),
    ("create_1000_configured", "create 1000 leads in the pipelines' first stage (create)", scenario_create(True),
     True),
    ("call_queue", f"a rep with {CALL_QUEUE_LEADS} open leads: My Call Queue (addon) / My Pipeline list (others)",
     scenario_call_queue, False),
]
SWEEPS = [
    ("sweep_1pct", "SLA sweep, 1 % of the running SLAs turn overdue", scenario_sweep(0.01)),
    ("sweep_all", "SLA sweep, all running SLAs turn overdue", scenario_sweep(1.0)),
]

# the customer status sweep: this many customers whatever N is, 1 % of them changing status
STATUS_CUSTOMERS = 100000
STATUS_CHANGING_MODULO = 100


def scenario_customer_status_sweep(side):
    """The daily customer status sweep (``res.partner._cron_update_customer_status``) over
    STATUS_CUSTOMERS companies with won opportunities, 1 % of which change status: a won deal
    left the last 12 months (new customer to lapsed). Set up in the measured transaction, before
    the timing, and rolled back with it (the database's own contacts brought up to date first):
    10 % regular customers (3 deals won in the last 3 months), 60 % new (1 won 6 months ago; 1 %
    of all, 12 months and a day ago, stored as new until a day ago: they lapse), 30 % lapsed (18
    months ago), each with the status and end date the addon would have stored. The sweep runs
    in batches of 10,000 contacts as the scheduled action does, without its commits (the data
    would stay): 1 batch here."""
    cr = side.cr
    env = api.Environment(cr, SUPERUSER_ID, {})
    # the database's own contacts up to date, as after the sweep's first run
    env["res.partner"]._cron_update_customer_status(auto_commit=False)
    won_stage = side.stages.filtered("is_won")[:1]
    # the status each customer has and when it ends (its won deals' dates + 12 months): for the 1 %, a day ago
    cr.execute(SQL("""
        CREATE TEMP TABLE bench_status_customer AS
        SELECT nextval('res_partner_id_seq')::int AS id, k, status,
               now() AT TIME ZONE 'UTC' + CASE WHEN status = 'regular' THEN interval '9 months'
                                                WHEN mod(k, %(modulo)s) = 1 THEN interval '-1 day'
                                                WHEN status = 'new' THEN interval '6 months' END AS until
          FROM (SELECT k, CASE WHEN mod(k, 10) = 0 THEN 'regular' WHEN mod(k, 10) <= 6 THEN 'new' ELSE 'lapsed' END
                       AS status
                  FROM generate_series(0, %(count)s - 1) k) drawn
    """, count=STATUS_CUSTOMERS, modulo=STATUS_CHANGING_MODULO))
    cr.execute(SQL("""
        INSERT INTO res_partner (id, name, complete_name, type, active, is_company, partner_share, lang, color,
                                 commercial_partner_id, customer_status, customer_status_until,
                                 create_uid, write_uid, create_date, write_date)
        SELECT id, 'Status customer ' || k, 'Status customer ' || k, 'contact', TRUE, TRUE, TRUE, 'en_US', 0,
               id, status, until, 1, 1, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
          FROM bench_status_customer
    """))
    cr.execute(SQL("""
        INSERT INTO crm_lead (name, type, active, company_id, team_id, stage_id, user_id, partner_id, probability,
                              automated_probability, date_closed, date_last_stage_update, sla_state, sla_priority,
                              create_uid, write_uid, create_date, write_date)
        SELECT 'Won deal ' || c.k || '/' || i, 'opportunity', TRUE, %(company)s, %(team)s, %(stage)s, %(user)s, c.id,
               100, 100, won.date, won.date, 'none', 0, 1, 1, won.date, won.date
          FROM bench_status_customer c
         CROSS JOIN LATERAL generate_series(1, CASE WHEN c.status = 'regular' THEN 3 ELSE 1 END) i
         CROSS JOIN LATERAL (
            SELECT now() AT TIME ZONE 'UTC' - CASE
                     WHEN c.status = 'regular' THEN make_interval(months => i)
                     WHEN mod(c.k, %(modulo)s) = 1 THEN interval '12 months 1 day'
                     WHEN c.status = 'new' THEN interval '6 months'
                     ELSE interval '18 months' END AS date
         ) won
    """, company=side.team.company_id.id or env.company.id, team=side.team.id, stage=won_stage.id,
        user=side.salesman.id, modulo=STATUS_CHANGING_MODULO))
    cr.execute("DROP TABLE bench_status_customer")
    # the planner's statistics see the rows (rolled back with them)
    cr.execute("ANALYZE res_partner")
    cr.execute("ANALYZE crm_lead")
    expected = STATUS_CUSTOMERS // STATUS_CHANGING_MODULO

    def run():
        done = api.Environment(cr, SUPERUSER_ID, {})["res.partner"]._cron_update_customer_status(
            batch_size=10000, auto_commit=False)
        if done != expected:
            raise AssertionError(f"customer_status_sweep: {done} contacts changed status, {expected} meant")
    return run


def _dashboard_kanban_spec(env):
    """The fields the dashboard's cards read (its kanban view, as the web client asks for them)."""
    action = env["ir.actions.act_window"]._for_xml_id("sales_process_stages.crm_team_action_sales_process")
    views = env["crm.team"].get_views([[action["view_id"][0], "kanban"]], {"action_id": action["id"]})
    kanban = etree.fromstring(views["views"]["kanban"]["arch"])
    return action, fields_spec(kanban, "crm.team", views["models"], "kanban")


def scenario_dashboard(side):
    """The team leader opens CRM > Reporting > Sales Process: the cards of every pipeline."""
    env = side.user_env(side.leader)
    action, spec = _dashboard_kanban_spec(env)
    from odoo.tools.safe_eval import safe_eval
    domain = safe_eval(action["domain"])
    side.cr.rollback()

    def run():
        side.call(side.leader, "web_search_read", [], {
            "domain": domain, "specification": spec, "offset": 0, "limit": 40, "order": "", "count_limit": 10001},
            {**side.context(side.leader), "bin_size": True}, model="crm.team")
    return run


def _pivot_read_groups(side, model, domain, rows, cols, measures):
    """The read_group calls of a pivot view: every prefix of the row groupbys with every prefix of
    the column groupbys, as Odoo's pivot model asks for them."""
    for row_depth in range(len(rows) + 1):
        for col_depth in range(len(cols) + 1):
            side.call(side.leader, "read_group", [], {
                "domain": domain, "fields": measures, "groupby": rows[:row_depth] + cols[:col_depth],
                "lazy": False}, model=model)


def scenario_dashboard_stages(side):
    """The pipeline's card, "By Stage and Salesperson": the pivot of its open leads with an SLA,
    stages and salespeople by SLA status."""
    action = side.user_env(side.leader)["crm.team"].browse(side.team.id).action_sales_process_open_stages()
    from odoo.tools.safe_eval import safe_eval
    domain = safe_eval(action["domain"]) + [("team_id", "=", side.team.id)]
    side.cr.rollback()

    def run():
        _pivot_read_groups(side, "crm.lead", domain, ["stage_id", "user_id"], ["sla_state"], ["__count"])
    return run


def scenario_dashboard_funnel(side):
    """The pipeline's card, "Funnel": the stage conversion pivot (reached, won, lost, rates, days in
    each stage, average and median) of the pipeline, by stage."""
    measures = ["reached_count:sum", "won_count:sum", "lost_count:sum", "win_rate:avg", "loss_rate:avg",
                "days_in_stage:avg", "days_in_stage_median:median"]

    def run():
        _pivot_read_groups(side, "crm.stage.conversion.report", [("team_id", "=", side.team.id)], ["stage_id"], [],
                           measures)
    return run


# addon only: the manager's pipeline dashboard, on the databases' data
DASHBOARDS = [
    ("dashboard", "manager's dashboard: the cards of every pipeline (web_search_read)", scenario_dashboard),
    ("dashboard_stages", "a pipeline's SLA by stage and salesperson (pivot: 6 read_group)",
     scenario_dashboard_stages),
    ("dashboard_funnel", "a pipeline's funnel, days in stage average and median (pivot: 2 read_group)",
     scenario_dashboard_funnel),
]

# addon only, on data set up and rolled back in the measured transaction
STATUS_SWEEPS = [
    ("customer_status_sweep", f"customer status sweep, {STATUS_CUSTOMERS} customers, 1 % changing status",
     scenario_customer_status_sweep),
]


def measure(side, scenario, statements=None, inserted=None):
    """Time one run of the scenario in a transaction rolled back afterwards; count its queries.

    :param statements: a list to append the (seconds, statement) of the run's queries to (slower)
    :param inserted: a dict to fill with the rows the run inserted, by table
    :return: (seconds, queries) of the call with its flush, as a test's assertQueryCount counts it,
        then (seconds, queries) of the request: including what the transaction's commit would run
        before the commit itself (``cr.precommit``: Odoo's tracking messages)
    """
    cr = side.cr
    cr.rollback()
    run = scenario(side)
    env = api.Environment(cr, SUPERUSER_ID, {})
    env.flush_all()
    env.invalidate_all()
    gc.collect()
    if inserted is not None:
        before = inserted_rows(cr)
    with capture_statements(statements) if statements is not None else contextlib.nullcontext():
        count = cr.sql_log_count
        start = time.perf_counter()
        run()
        env.flush_all()
        elapsed, queries = time.perf_counter() - start, cr.sql_log_count - count
        cr.precommit.run()
        env.flush_all()
        elapsed_commit, queries_commit = time.perf_counter() - start, cr.sql_log_count - count
    if inserted is not None:
        after = inserted_rows(cr)
        inserted.update({table: rows - before.get(table, 0) for table, rows in sorted(after.items())
                         if rows > before.get(table, 0)})
    cr.rollback()
    return elapsed, queries, elapsed_commit, queries_commit


def inserted_rows(cr):
    """The rows inserted so far by the current transaction, by table."""
    cr.execute("SELECT relname, n_tup_ins FROM pg_stat_xact_user_tables WHERE n_tup_ins > 0")
    return dict(cr.fetchall())


@contextlib.contextmanager
def capture_statements(statements):
    """Append (seconds, statement) of every query run meanwhile to ``statements``."""
    from odoo import sql_db

    execute = sql_db.Cursor.execute

    def timed_execute(cursor, query, params=None, log_exceptions=True):
        start = time.perf_counter()
        try:
            return execute(cursor, query, params, log_exceptions)
        finally:
            code = query.code if isinstance(query, SQL) else query
            statements.append((time.perf_counter() - start, " ".join(str(code).split())))

    sql_db.Cursor.execute = timed_execute
    try:
        yield statements
    finally:
        sql_db.Cursor.execute = execute


def statement_kinds(statements):
    """The statements counted by kind: ``INSERT INTO <table>`` for each table, ``other`` for the rest."""
    kinds = Counter()
    for __, statement in statements:
        words = statement.split(None, 3)
        if len(words) >= 3 and words[0].upper() == "INSERT" and words[1].upper() == "INTO":
            kinds["INSERT INTO " + words[2].split("(")[0].strip('"')] += 1
        elif len(words) >= 2 and words[0].upper() == "UPDATE":
            kinds["UPDATE " + words[1].strip('"')] += 1
        else:
            kinds["other"] += 1
    return dict(sorted(kinds.items()))


def move_statements(sides, scenarios):
    """The statements of moving 100 and MOVE_MANY leads on each side, by kind, and the rows they inserted,
    by table, for check(): one more run of each, untimed (the statements are captured). Under "leads",
    the number of leads each moved (fewer than MOVE_MANY when the first stage holds fewer, in small
    databases)."""
    functions = {name: function for name, __, function, __ in scenarios}
    moved = len(sides[0].move_ids)
    result = {"leads": {"move_100": len(sides[0].move_ids[::max(moved // 100, 1)][:100]),
                        "move_1000": min(moved, MOVE_MANY)}}
    for side in sides:
        result[side.name] = {}
        for name in ("move_100", "move_1000"):
            statements, inserted = [], {}
            measure(side, functions[name], statements, inserted)
            result[side.name][name] = {"queries": statement_kinds(statements), "inserted": inserted}
    return result


def machine():
    info = {"hostname": platform.node(), "cpus": os.cpu_count(), "python": platform.python_version()}
    try:
        with open("/proc/cpuinfo") as file:
            info["cpu"] = next((line.split(":", 1)[1].strip() for line in file if line.startswith("model name")), "")
        with open("/proc/meminfo") as file:
            info["memory_gb"] = round(int(file.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    info["load_start"] = os.getloadavg()
    return info


def main_run(args):
    init_odoo()
    info = machine()
    only = set(args.only.split(",")) if args.only else None
    plain, auto, addon = Side("plain", args.plain), Side("auto", args.auto), Side("addon", args.addon)
    sides = [plain, auto, addon]
    restore_sla(addon)  # a run interrupted during the sweeps
    for side, addon_wanted, automation_wanted in ((plain, False, False), (auto, False, True), (addon, True, False)):
        if (side.has_addon, side.has_automation) != (addon_wanted, automation_wanted):
            sys.exit(f"{side.database}: not the {side.name} database (sales_process_stages "
                     f"{'' if side.has_addon else 'not '}installed, base_automation "
                     f"{'' if side.has_automation else 'not '}installed)")
    if not auto.automations:
        sys.exit(f"{auto.database} has no automation rule: rebuild it")
    for attribute in ("leads", "active_leads", "move_ids", "form_id"):
        if any(getattr(side, attribute) != getattr(plain, attribute) for side in sides):
            sys.exit(f"the databases do not hold the same data ({attribute} differ): rebuild them")
    if auto.activities != addon.activities:
        print(f"[bench] WARNING: {auto.database} holds {auto.activities} activities on leads, {addon.database} "
              f"{addon.activities}: the generator's automation_state and addon_state differ", flush=True)
    plain.cr.execute("SHOW server_version")
    info["postgresql"] = plain.cr.fetchone()[0]
    plain.cr.rollback()
    print(f"[bench] {plain.database} / {auto.database} ({auto.automations} automation rules) / {addon.database}: "
          f"{addon.leads} leads ({addon.active_leads} active); {args.repeats} repeats, medians; machine: "
          f"{info['cpus']} CPUs {info.get('cpu', '')}, {info.get('memory_gb')} GB, load "
          f"{' '.join(f'{x:.2f}' for x in info['load_start'])}", flush=True)
    scenarios = [s for s in SCENARIOS if not only or s[0] in only]
    sweeps = [s for s in SWEEPS if not only or s[0] in only]
    status_sweeps = [s for s in STATUS_SWEEPS if not only or s[0] in only]
    dashboards = [s for s in DASHBOARDS if not only or s[0] in only]
    samples = {name: {side.name: [] for side in sides}
               for name, *__ in scenarios + sweeps + status_sweeps + dashboards}
    # Each side starts vacuumed and analyzed; the writes measured are rolled back, which leaves dead rows
    # (rows no real workload would leave) that slow down the next reads: vacuumed after each repeat
    for side in sides:
        vacuum(side.registry, analyze=True)
    # warm-up: every scenario once on each side (registry caches, views, Python code paths)
    for __, __, scenario, __ in scenarios:
        for side in sides:
            measure(side, scenario)
    for repeat in range(args.repeats):
        for side in sides:
            vacuum(side.registry)
        order = sides[repeat % len(sides):] + sides[:repeat % len(sides)]  # each side first in turn
        for name, __, scenario, __ in scenarios:
            for side in order:
                samples[name][side.name].append(measure(side, scenario))
        print(f"[bench] repeat {repeat + 1}/{args.repeats} done", flush=True)
    statements = None
    if any(name == "move_1000" for name, *__ in scenarios):
        for side in sides:
            vacuum(side.registry)
        statements = move_statements(sides, SCENARIOS)
    # the sweep: addon only, on committed data (see scenario_sweep), restored afterwards
    if sweeps:
        backup_sla(addon)
        try:
            for name, __, scenario in sweeps:
                measure(addon, scenario)
                for __ in range(args.repeats):
                    samples[name]["addon"].append(measure(addon, scenario))
        finally:
            restore_sla(addon)
    # the customer status sweep: addon only, everything in the measured transaction
    for name, __, scenario in status_sweeps:
        vacuum(addon.registry)
        measure(addon, scenario)
        for __ in range(args.repeats):
            samples[name]["addon"].append(measure(addon, scenario))
            vacuum(addon.registry)
    # the manager's dashboard: addon only, read-only
    for name, __, scenario in dashboards:
        vacuum(addon.registry)
        measure(addon, scenario)
        for __ in range(args.repeats):
            samples[name]["addon"].append(measure(addon, scenario))
    info["load_end"] = os.getloadavg()
    results = summarize(scenarios, sweeps + status_sweeps + dashboards, samples, addon, statements)
    failures = check(results)
    print_table(results, failures, auto, addon, info, args.repeats)
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"leads": addon.leads, "active_leads": addon.active_leads, "repeats": args.repeats,
                       "databases": [side.database for side in sides], "automation_rules": auto.automations,
                       "activities": {side.name: side.activities for side in sides}, "machine": info,
                       "date": time.strftime("%Y-%m-%d %H:%M:%S"), "goals": GOALS, "results": results,
                       "failures": failures}, file, indent=2)
        print(f"[bench] results written to {args.json}")
    for side in sides:
        side.close()
    if args.check and failures:
        print(f"[bench] {len(failures)} goal(s) missed", file=sys.stderr)
        return 1
    return 0


def _ratio(numerator, denominator):
    return round(numerator / denominator, 2) if denominator > 0 else None


def summarize(scenarios, sweeps, samples, addon, statements):
    """Per scenario: each side's medians and samples, the ratios (see GOALS)."""
    mutating = {name: writes for name, __, __, writes in scenarios}
    results = {}
    for name, title, *__ in scenarios + sweeps:
        row = {"title": title}
        for side in ("plain", "auto", "addon"):
            if samples[name][side]:
                times, queries, times_commit, queries_commit = zip(*samples[name][side], strict=True)
                row[side] = {"ms": round(statistics.median(times) * 1000, 1),
                             "queries": int(statistics.median(queries)),
                             "ms_with_commit": round(statistics.median(times_commit) * 1000, 1),
                             "queries_with_commit": int(statistics.median(queries_commit)),
                             "ms_all": [round(t * 1000, 1) for t in times],
                             "ms_with_commit_all": [round(t * 1000, 1) for t in times_commit],
                             "queries_all": list(queries)}
        if all(side in row for side in ("plain", "auto", "addon")):
            plain, auto, add = row["plain"], row["auto"], row["addon"]
            # the goals': request times, medians
            row["ratio"] = _ratio(add["ms_with_commit"], plain["ms_with_commit"])
            row["ratio_auto"] = _ratio(add["ms_with_commit"], auto["ms_with_commit"])
            row["extra_queries"] = add["queries_with_commit"] - plain["queries_with_commit"]
            row["extra_queries_auto"] = add["queries_with_commit"] - auto["queries_with_commit"]
            # each repeat measures the sides back to back: the median of those ratios is less moved by
            # load that varies between repeats (shown beside the goals' ratio of medians, not checked)
            samples_commit = list(zip(plain["ms_with_commit_all"], auto["ms_with_commit_all"],
                                      add["ms_with_commit_all"], strict=True))
            row["ratio_paired"] = _median([_ratio(a, p) for p, __, a in samples_commit])
            row["ratio_auto_paired"] = _median([_ratio(a, u) for __, u, a in samples_commit])
            # the call and its flush alone (as assertQueryCount counts; the former goals' measure)
            row["ratio_call"] = _ratio(add["ms"], plain["ms"])
            row["extra_queries_call"] = add["queries"] - plain["queries"]
            if mutating.get(name):
                # what the addon adds to plain crm, over what the automation rules add
                row["added"] = _ratio(add["ms_with_commit"] - plain["ms_with_commit"],
                                      auto["ms_with_commit"] - plain["ms_with_commit"])
                row["added_paired"] = _median([_ratio(a - p, u - p) for p, u, a in samples_commit])
        results[name] = row
    if statements and "move_1000" in results:
        results["move_1000"]["statements"] = statements
    if "sweep_1pct" in results or "sweep_all" in results:
        addon.cr.execute("SELECT count(*) FROM crm_lead WHERE active AND sla_state <> 'none'")
        running = addon.cr.fetchone()[0]
        addon.cr.rollback()
        for name in ("sweep_1pct", "sweep_all"):
            if name in results:
                results[name]["running_slas"] = running
    return results


def _median(values):
    values = [value for value in values if value is not None]
    return round(statistics.median(values), 2) if values else None


def query_growth(statements):
    """How the addon's extra queries (over plain) grow from 100 leads moved to MOVE_MANY: in all, and in
    INSERTs the ORM splits in batches of INSERT_BATCH_SIZE rows: per table, its extra INSERTs may grow
    by as many as the extra batches its extra rows take (the rows inserted in the table, plain's
    subtracted, in batches), and so may the UPDATEs of those rows' computed fields (UPDATE_BATCH_SIZE).

    :return: (extra queries for 100 leads, for MOVE_MANY, their growth, the growth allowed to the
        insert batches, {table: growth} of the INSERTs that grew)
    """
    def batches(rows):
        return -(-rows // INSERT_BATCH_SIZE)

    def extra(name):
        addon, plain = statements["addon"][name], statements["plain"][name]
        queries = {kind: addon["queries"].get(kind, 0) - plain["queries"].get(kind, 0)
                   for kind in addon["queries"].keys() | plain["queries"].keys()}
        extra_batches = {table: batches(addon["inserted"].get(table, 0)) - batches(plain["inserted"].get(table, 0))
                         for table in addon["inserted"].keys() | plain["inserted"].keys()}
        return queries, extra_batches

    (few, few_batches), (many, many_batches) = extra("move_100"), extra("move_1000")
    inserts = {kind[len("INSERT INTO "):]: many.get(kind, 0) - few.get(kind, 0)
               for kind in few.keys() | many.keys() if kind.startswith("INSERT INTO ")}
    inserts = {table: grown for table, grown in sorted(inserts.items()) if grown > 0}
    allowed = sum(min(grown, max(many_batches.get(table, 0) - few_batches.get(table, 0), 0))
                  for table, grown in inserts.items())
    # the stored fields the model's own computes fill in after the insert (mail.activity's res_name,
    # user_tz): the ORM updates the new rows 100 a query (odoo.models.UPDATE_BATCH_SIZE), as many batches as
    # it inserted
    updates = {kind[len("UPDATE "):]: many.get(kind, 0) - few.get(kind, 0)
               for kind in few.keys() | many.keys() if kind.startswith("UPDATE ")}
    allowed += sum(min(grown, max(many_batches.get(table, 0) - few_batches.get(table, 0), 0))
                   for table, grown in updates.items() if grown > 0 and table in inserts)
    inserts.update({f"UPDATE {table}": grown for table, grown in updates.items() if grown > 0})
    return sum(few.values()), sum(many.values()), sum(many.values()) - sum(few.values()), allowed, inserts


def check(results):
    """The goals missed, as sentences."""
    failures = []
    for name, goal in GOALS.items():
        row = results.get(name)
        if not row or "addon" not in row:
            continue
        if "ratio" in goal and row["ratio"] > goal["ratio"]:
            failures.append(f"{name}: {row['ratio']}x plain time, goal <= {goal['ratio']}x")
        if "ratio_auto" in goal and row["ratio_auto"] > goal["ratio_auto"]:
            failures.append(f"{name}: {row['ratio_auto']}x the automation's time, goal <= {goal['ratio_auto']}x")
        if "extra_queries" in goal and row["extra_queries"] > goal["extra_queries"]:
            failures.append(f"{name}: {row['extra_queries']} more queries than plain, goal <= {goal['extra_queries']}")
        if "added" in goal:
            added_ms = row["addon"]["ms_with_commit"] - row["plain"]["ms_with_commit"]
            if row["added"] is None and added_ms > 0:
                failures.append(f"{name}: the addon adds {added_ms:.1f} ms to plain, the automation rules nothing")
            elif row["added"] is not None and row["added"] > goal["added"]:
                failures.append(f"{name}: the addon adds {row['added']}x what the automation rules add to plain, "
                                f"goal <= {goal['added']}x")
        if goal.get("constant_queries") and row.get("statements"):
            # what the addon adds must not grow with the number of leads moved. The ORM inserts rows
            # INSERT_BATCH_SIZE a query; it flushes the leads 100 rows a query per set of changed fields, plain
            # and addon alike: the SLA's changed fields may split 1000 leads into a set or two more than 100
            # leads (leads on hold, states unchanged)
            few, many, grown, allowed, inserts = query_growth(row["statements"])
            if grown - allowed > FLUSH_GROUPS_TOLERANCE:
                leads = row["statements"]["leads"]
                failures.append(f"{name}: the addon's extra queries grow with the leads moved ({few} for "
                                f"{leads['move_100']} leads, {many} for {leads['move_1000']}; {allowed} of the "
                                f"{grown} more are the ORM's insert batches)")
        if "seconds" in goal and row["addon"]["ms_with_commit"] > goal["seconds"] * 1000:
            failures.append(f"{name}: {row['addon']['ms_with_commit'] / 1000:.2f} s, goal < {goal['seconds']} s")
    return failures


def goal_text(goal):
    parts = []
    if "ratio" in goal:
        parts.append(f"<= {goal['ratio']}x plain")
    if "ratio_auto" in goal:
        parts.append(f"<= {goal['ratio_auto']}x auto")
    if "extra_queries" in goal:
        parts.append(f"<= plain + {goal['extra_queries']} q")
    if "added" in goal:
        parts.append(f"added <= {goal['added']}x auto's")
    if goal.get("constant_queries"):
        parts.append("q not growing")
    if "seconds" in goal:
        parts.append(f"< {goal['seconds']:g} s")
    return ", ".join(parts)


def print_table(results, failures, auto, addon, info, repeats):
    failed = {failure.split(":")[0] for failure in failures}

    def cell(value, width, digits=2):
        return f"{'-' if value is None else f'{value:.{digits}f}' if isinstance(value, float) else value:>{width}}"

    header = (f"{'scenario':<22} {'plain ms':>9} {'auto ms':>9} {'addon ms':>9} {'a/plain':>7} {'paired':>6} "
              f"{'a/auto':>6} {'added':>6} {'plain q':>8} {'auto q':>7} {'addon q':>8}  {'goal':<36} result")
    print()
    print(f"sales_process_stages vs base_automation ({auto.automations} rules) vs plain crm: {addon.leads} leads "
          f"({addon.active_leads} active), median of {repeats}; {info['cpus']} CPUs {info.get('cpu', '')}, "
          f"{info.get('memory_gb')} GB, load {' '.join(f'{x:.2f}' for x in info['load_start'])} -> "
          f"{' '.join(f'{x:.2f}' for x in info['load_end'])}")
    print(header)
    print("-" * len(header))
    for name, row in results.items():
        sides = [row.get(side) for side in ("plain", "auto", "addon")]
        goal = goal_text(GOALS.get(name, {}))
        result = ("FAIL" if name in failed else "ok") if goal else ""
        print(f"{name:<22} " + " ".join(cell(side and side["ms_with_commit"], 9, 1) for side in sides)
              + f" {cell(row.get('ratio'), 7)} {cell(row.get('ratio_paired'), 6)} {cell(row.get('ratio_auto'), 6)}"
              + f" {cell(row.get('added'), 6)} "
              + " ".join(cell(side and side["queries_with_commit"], width) for side, width in zip(sides, (8, 7, 8),
                                                                                                  strict=True))
              + f"  {goal:<36} {result}".rstrip())
    for name in ("sweep_1pct", "sweep_all"):
        if name in results:
            print(f"(sweeps: over the {results[name]['running_slas']} leads with a running SLA, addon only)")
            break
    if results.get("move_1000", {}).get("statements"):
        few, many, grown, allowed, inserts = query_growth(results["move_1000"]["statements"])
        statements = results["move_1000"]["statements"]
        growth = (f"{grown:+d}, of which {allowed} the ORM's insert batches"
                  + (f" ({', '.join(f'{table} +{count}' for table, count in inserts.items())})" if inserts else "")
                  if grown > 0 else "not growing")
        print(f"(move_1000: the addon's extra queries over plain moving {statements['leads']['move_100']} leads, "
              f"then {statements['leads']['move_1000']}: {few}, then {many}: {growth}; goal: at most "
              f"{FLUSH_GROUPS_TOLERANCE} more besides insert batches)")
    print("(request times: the call, its flush and what the commit runs first, Odoo's tracking messages; medians. "
          "a/plain, a/auto: addon time over plain's, over the automation's; paired: median of each repeat's "
          "addon/plain ratio; added: (addon - plain) / (auto - plain), what the addon adds to plain crm over what "
          "the automation rules add; q: the request's queries. The JSON has the call and its flush alone too, "
          "as assertQueryCount counts them)")
    for failure in failures:
        print(f"MISSED {failure}")
    print()


def main_profile(args):
    """One scenario on one database, warmed up, then profiled: the functions by cumulative time
    (cProfile) and the SQL statements by time, EXPLAIN ANALYZE's trigger lines excepted (run it on
    the statement printed to see the foreign key checks)."""
    import cProfile
    import io
    import pstats

    init_odoo()
    scenario = {**{name: function for name, __, function, __ in SCENARIOS},
                **{name: function for name, __, function in DASHBOARDS}}[args.scenario]
    side = Side("profiled", args.database)
    for __ in range(2):
        measure(side, scenario)
    statements = []
    profile = cProfile.Profile()
    times = []
    with capture_statements(statements):
        for __ in range(args.repeats):
            side.cr.rollback()
            run = scenario(side)
            env = api.Environment(side.cr, SUPERUSER_ID, {})
            env.flush_all()
            env.invalidate_all()
            statements.clear()
            start = time.perf_counter()
            profile.enable()
            run()
            env.flush_all()
            profile.disable()
            times.append(time.perf_counter() - start)
            side.cr.rollback()
    side.close()
    output = io.StringIO()
    pstats.Stats(profile, stream=output).sort_stats("cumulative").print_stats(args.top)
    print(output.getvalue())
    print(f"{args.scenario} on {args.database}: {len(times)} runs, median {statistics.median(times) * 1000:.1f} ms "
          f"(profiled); last run: {len(statements)} statements, "
          f"{sum(seconds for seconds, __ in statements) * 1000:.1f} ms in SQL")
    for seconds, statement in sorted(statements, reverse=True)[:args.top]:
        print(f"{seconds * 1000:8.1f} ms  {statement[:160]}")
    if args.output:
        profile.dump_stats(args.output)
        print(f"[bench] profile written to {args.output} (snakeviz, or python -m pstats)")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_stamp = sub.add_parser("stamp", help="print the data stamp of N leads")
    p_stamp.add_argument("--leads", type=int, required=True)
    p_load = sub.add_parser("load", help="fill a fresh database")
    p_load.add_argument("-d", "--database", required=True)
    p_load.add_argument("--leads", type=int, required=True)
    kind = p_load.add_mutually_exclusive_group()
    kind.add_argument("--addon", action="store_true", help="the database has the addon: configure it")
    kind.add_argument("--automation", action="store_true",
                      help="the database has base_automation: the same process in automation rules")
    p_run = sub.add_parser("run", help="measure")
    p_run.add_argument("--plain", required=True, help="database with crm")
    p_run.add_argument("--auto", required=True, help="database with crm and base_automation (load --automation)")
    p_run.add_argument("--addon", required=True, help="database with crm and sales_process_stages")
    p_run.add_argument("--repeats", type=int, default=5)
    p_run.add_argument("--json", help="write the results to this file")
    p_run.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    p_run.add_argument("--only", help="comma-separated scenarios to run")
    p_profile = sub.add_parser("profile", help="profile one scenario on one database")
    p_profile.add_argument("-d", "--database", required=True)
    p_profile.add_argument("--scenario", required=True, choices=[name for name, *__ in SCENARIOS + DASHBOARDS])
    p_profile.add_argument("--repeats", type=int, default=3)
    p_profile.add_argument("--top", type=int, default=30, help="functions and statements shown")
    p_profile.add_argument("--output", help="write the cProfile data to this file")
    args = parser.parse_args()
    if args.command == "profile":
        return main_profile(args)
    if args.command == "stamp":
        print(stamp(args.leads))
        return 0
    if args.command == "load":
        return main_load(args)
    return main_run(args)


if __name__ == "__main__":
    sys.exit(main())
