"""Demo data of the seeded pipelines: leads walked through their stages by the pipeline's rules, as
reps would, then their history dated back, so that the board shows every SLA colour, half-done
checklists, won and lost deals, and the stage history and speed to lead reports have stays and
first responses to show.

Only the demo data calls this (``crm.lead._demo_play_pipeline``), once, at install. It goes
through the lead's own gate: a pipeline that could not be walked would fail the demo's install.

A script entry (a dict):

- ``lead``: id of a demo lead, created in its pipeline's first stage;
- ``stage``: id of the stage it ends in (for a lost lead: the stage it was lost in); a won stage wins it;
- ``sla``: for an open lead, its SLA colour: ``on_track``, ``due_soon`` or ``overdue``;
- ``done``: mandatory checklist items of the last stage already done (default 0);
- ``lost``: values of ``action_set_lost`` (``lost_reason_id``, ``lost_competitor_name``, ``lost_note``);
- ``days_ago``: for a won or lost lead, days since it was closed (default 3);
- ``hold``: ``(days, reason)``: put the lead on hold for that many days.
"""

import base64
import logging
from datetime import timedelta

from odoo import SUPERUSER_ID, fields
from odoo.tools import SQL

from ..tools.sla_clock import SlaClock

_logger = logging.getLogger(__name__)

# share of their time budget the earlier stays of a lead used, in turn (above 1: the SLA was missed)
STAY_SHARES = (0.5, 0.8, 0.3, 1.2, 0.6, 0.9)
# hours of a stay in a stage without SLA
STAY_HOURS_WITHOUT_SLA = 30.0


def play(env, script):
    Lead = env["crm.lead"].with_context(mail_activity_quick_update=True, mail_notify_force_send=False)
    for index, entry in enumerate(script, 1):
        lead = Lead.browse(entry["lead"])
        # the salesperson works the lead (and the lead's chatter says so)
        lead = lead.with_user(lead.user_id or lead.env.user)
        markers = _walk(lead, env["crm.stage"].browse(entry["stage"]), entry)
        _date_back(lead, entry, markers)
        _logger.info("demo lead %d/%d of %s walked to %s", index, len(script), lead.team_id.name, lead.stage_id.name)
    # the passing of time, caught once: escalations of the overdue leads, team leaders notified
    env["crm.lead"]._cron_sweep_sla(auto_commit=False)


# ------------------------------------------------------------
# walking the pipeline
# ------------------------------------------------------------


def _walk(lead, target, entry):
    """Move ``lead`` stage by stage to ``target`` by the pipeline's rules; return the id of the last
    message before each stay (and before the loss) to date the chatter back."""
    env = lead.env
    stages = env["crm.stage"].search([("team_id", "=", lead.team_id.id)], order="sequence, id")
    open_stages = stages.filtered(lambda stage: not stage.is_won)
    last = target
    if target.is_won:
        last = (lead.team_id.won_from_stage_ids & open_stages)[-1:] or open_stages[-1:]
    path = open_stages.filtered(lambda stage: lead.stage_id.sequence < stage.sequence <= last.sequence)
    markers = []
    for stage in path:
        _finish_stage(lead)
        if stage.require_next_activity:
            _plan_next_step(lead, stage)
        markers.append(_last_message_id(env))
        lead.write({"stage_id": stage.id})
        _flush_tracking(env)
    if target.is_won:
        _finish_stage(lead)
        markers.append(_last_message_id(env))
        if not lead.stage_id.is_won:  # a step may have won it (the B2B signed contract)
            lead.action_set_won()
        _flush_tracking(env)
    else:
        lines = _open_lines(lead).filtered("is_mandatory")[:entry.get("done", 0)]
        _tick(lines)
    if entry.get("lost"):
        markers.append(_last_message_id(env))
        lead.action_set_lost(**entry["lost"])
        _flush_tracking(env)
    if entry.get("hold"):
        days, reason = entry["hold"]
        lead.write({"sla_hold_until": fields.Date.context_today(lead) + timedelta(days=days),
                    "sla_hold_reason": reason})
    return markers


def _open_lines(lead):
    return lead.checklist_line_ids.filtered(lambda line: line.stage_id == lead.stage_id and line.state == "open")


def _finish_stage(lead):
    """The work of the current stage is done: its checklist, step by step (items waiting for
    others start when those are done), the next steps planned."""
    lines = _open_lines(lead)
    while lines:
        _tick(lines)
        lines = _open_lines(lead)
    planned = lead.activity_ids.filtered(lambda activity: activity.id not in lead.checklist_line_ids.activity_id.ids)
    planned.action_feedback(feedback="Done")


def _tick(lines):
    """Each line done by its responsible, with the file it needs."""
    for line in lines:
        line = line.with_user(line.user_id or line.env.user)
        if line.needs_attachment:
            line.env["ir.attachment"].create({
                "name": f"{line.name}.txt",
                "res_model": line._name,
                "res_id": line.id,
                "mimetype": "text/plain",
                "datas": base64.b64encode(f"Demo document: {line.name}\n".encode()),
            })
        line.action_done()


def _plan_next_step(lead, stage):
    """The meeting or call the stage requires planned before entering it."""
    lead.activity_schedule(
        "mail.mail_activity_data_meeting", date_deadline=fields.Date.context_today(lead) + timedelta(days=1),
        summary=stage.name, user_id=(lead.user_id or lead.env.user).id)


def _last_message_id(env):
    _flush_tracking(env)
    env.cr.execute("SELECT COALESCE(MAX(id), 0) FROM mail_message")
    return env.cr.fetchone()[0]


def _flush_tracking(env):
    """Post the pending tracking (Odoo posts it before the commit) so that each move's message is
    where the walk put it."""
    env.flush_all()
    env.cr.precommit.run()


# ------------------------------------------------------------
# dating the history back
# ------------------------------------------------------------


def _date_back(lead, entry, markers):
    """Give the lead's stays, checklist, activities and chatter the dates of a lead that has been in
    its pipeline for a while, then let the lead compute its SLA from them."""
    env = lead.env
    env.flush_all()
    lead = lead.with_context(active_test=False)
    clock = _Clocks(lead)
    stays = env["crm.lead.stage.history"].search([("lead_id", "=", lead.id)], order="id")
    timeline = _timeline(lead, entry, stays, clock)
    _date_stays(lead, timeline, clock)
    _date_checklist(lead, entry, timeline)
    _date_chatter(lead, timeline, markers)
    first_start, last_start = timeline[0][1], timeline[-1][1]
    vals = {"create_date": first_start, "date_open": first_start, "date_last_stage_update": last_start}
    if lead.active and not stays[-1].stage_id.is_won:
        vals["sla_start_date"] = last_start
    else:
        vals["date_closed"] = timeline[-1][2] or last_start
    _backdate(lead, vals)
    env.invalidate_all()
    if lead.active:
        lead._sla_recompute()
    # its first response, recorded while it was walked, from its dated chatter and stays
    lead._first_response_from_history()


class _Clocks:
    """The lead's SLA clocks, per stage: its time budget and how it is counted."""

    def __init__(self, lead):
        self.lead = lead
        self.now = lead.env.cr.now()
        self.rules = lead.env["crm.stage"]._get_process_rules()
        self.calendar = lead._sla_get_calendar()
        self.clocks = {}

    def of(self, stage):
        """(SLA rule or None, clock) of ``stage``."""
        sla = self.rules.stage(stage.id).sla
        working = bool(sla and sla.working)
        return sla, self.clocks.setdefault(working, SlaClock(self.calendar, working))

    def hours(self, sla, clock, key="duration"):
        """Hours on ``clock`` of the duration ``key`` of ``sla`` (an ``SlaRule``)."""
        return self.lead._sla_hours(getattr(sla, key), clock)

    def before(self, stage, stop, share):
        """When a stay ending at ``stop`` started, having used ``share`` of the stage's time budget."""
        sla, clock = self.of(stage)
        if not sla:
            return stop - timedelta(hours=STAY_HOURS_WITHOUT_SLA * share)
        return clock.plan(stop, -self.hours(sla, clock) * share) or stop - timedelta(days=1)


def _timeline(lead, entry, stays, clock):
    """[(stay, start, end or False)] of the lead, from its last stay back: the last one starts when
    its SLA colour needs it (open lead) or when it was won, or ends when it was lost."""
    now = clock.now
    closed_at = now - timedelta(days=entry.get("days_ago", 3), hours=lead.id % 7)
    last = stays[-1]
    if not lead.active:
        starts, ends = [clock.before(last.stage_id, closed_at, 0.5)], [closed_at]
    elif last.stage_id.is_won:
        starts, ends = [closed_at], [False]
    else:
        starts, ends = [_sla_start(clock, last.stage_id, entry.get("sla", "on_track"))], [False]
    for index, stay in enumerate(reversed(stays[:-1])):
        ends.insert(0, starts[0])
        starts.insert(0, clock.before(stay.stage_id, starts[0], STAY_SHARES[(lead.id + index) % len(STAY_SHARES)]))
    return list(zip(stays, starts, ends, strict=True))


def _date_stays(lead, timeline, clock):
    for stay, start, end in timeline:
        vals = {"date_in": start, "date_out": end or None}
        if end:
            vals["duration_hours"] = (end - start).total_seconds() / 3600
            sla, sla_clock = clock.of(stay.stage_id)
            if sla and not stay.stage_id.is_won:
                deadline = sla_clock.plan(start, clock.hours(sla, sla_clock))
                vals.update(sla_deadline=deadline, sla_result="met" if deadline and end <= deadline else "missed")
        _update_own_table(lead.env, "crm_lead_stage_history", stay.id, vals)


def _date_checklist(lead, entry, timeline):
    """Lines due and done as in their stay; the next step planned on entering the current stage to
    come for a lead on track, late otherwise."""
    env = lead.env
    now = env.cr.now()
    stay_of_stage = {stay.stage_id.id: (start, end or now) for stay, start, end in timeline}
    for line in lead.checklist_line_ids.filtered(lambda line: line.state != "waiting"):
        start, end = stay_of_stage[line.stage_id.id]
        deadline = line.item_id._get_deadline(start) if line.item_id else fields.Date.to_date(start)
        vals = {"date_deadline": deadline}
        if line.state != "open":
            vals["done_date"] = start + (end - start) * 0.6
        _update_own_table(env, "crm_lead_checklist_line", line.id, vals)
        if line.activity_id:
            _backdate(line.activity_id, {"date_deadline": deadline})
    today = fields.Date.context_today(lead)
    on_track = entry.get("sla", "on_track") == "on_track"
    for activity in lead.activity_ids - lead.checklist_line_ids.activity_id:
        late = min(fields.Date.to_date(timeline[-1][1]) + timedelta(days=1), today - timedelta(days=1))
        _backdate(activity, {"date_deadline": today + timedelta(days=2) if on_track else late})


def _date_chatter(lead, timeline, markers):
    """Each message when its stay had it: what opens a stay (creation, move, loss) when it starts,
    the work done in it later."""
    env = lead.env
    now = env.cr.now()
    bounds = [(start, end or now) for __, start, end in timeline]
    if not lead.active:
        bounds.append((timeline[-1][2], timeline[-1][2]))  # the loss
    limits = [*markers, None]
    env.cr.execute("""
        SELECT id, message_type = 'user_notification'
               OR EXISTS (SELECT 1 FROM mail_tracking_value WHERE mail_message_id = message.id)
          FROM mail_message message
         WHERE model = 'crm.lead' AND res_id = %s
      ORDER BY id
    """, [lead.id])
    opened = set()
    for message_id, opening in env.cr.fetchall():
        index = next(index for index, limit in enumerate(limits) if limit is None or message_id <= limit)
        start, end = bounds[min(index, len(bounds) - 1)]
        date = start if opening or index not in opened else start + (end - start) * 0.6
        opened.add(index)
        message = env["mail.message"].browse(message_id)
        _backdate(message, {"date": date})
        _backdate(message.sudo().tracking_value_ids, {"create_date": date})


def _sla_start(clock, stage, colour):
    """When the lead must have entered ``stage`` to show SLA ``colour`` now."""
    sla, sla_clock = clock.of(stage)
    if not sla:
        return clock.now - timedelta(days=1)
    budget = clock.hours(sla, sla_clock)
    if sla.due_soon_percent is not None:
        margin = budget * (100.0 - sla.due_soon_percent) / 100.0
    else:
        margin = clock.hours(sla, sla_clock, "due_soon_before")
    used = {
        "on_track": budget * 0.3,
        "due_soon": budget - margin / 2,
        "overdue": budget * 1.5 + clock.hours(sla, sla_clock, "leader_delay"),
    }[colour]
    return sla_clock.plan(clock.now, -used) or clock.now - timedelta(hours=used)


def _backdate(records, vals):
    """Write ``vals`` on Odoo's records through the ORM, as the superuser: while the registry loads
    (demo data is loaded at install), the ORM lets the superuser set the creation dates too
    (``create_date``), which it refuses otherwise. Nothing is tracked: the chatter is dated, not
    written."""
    if records:
        records.with_user(SUPERUSER_ID).with_context(tracking_disable=True).write(vals)


def _update_own_table(env, table, record_id, vals):
    """The addon's own stays and lines, dated in one statement each."""
    assert table in ("crm_lead_stage_history", "crm_lead_checklist_line"), table
    env.cr.execute(SQL(
        "UPDATE %s SET %s WHERE id = %s", SQL.identifier(table),
        SQL(", ").join(SQL("%s = %s", SQL.identifier(column), value) for column, value in vals.items()), record_id))
