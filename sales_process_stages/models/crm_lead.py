import logging
import threading
import time
from collections import defaultdict
from datetime import datetime

import pytz
from lxml import etree
from markupsafe import Markup, escape
from psycopg2 import errors as pg_errors

from odoo import _, api, fields, models, tools
from odoo.exceptions import UserError
from odoo.osv import expression
from odoo.tools import SQL, split_every

from ..tools import pipeline_demo
from ..tools.sla_clock import SlaClock

_logger = logging.getLogger(__name__)

SLA_STATES = [
    ("none", "No SLA"),
    ("on_track", "On Track"),
    ("due_soon", "Due Soon"),
    ("overdue", "Overdue"),
]
# urgency of each state, to sort by (the daily review)
SLA_PRIORITY = {"none": 0, "on_track": 1, "due_soon": 2, "overdue": 3}
# lead fields whose change may start or end a stay in a stage, or change its SLA
SLA_WRITE_TRIGGERS = {"stage_id", "active", "team_id", "user_id", "type", "sla_hold_until"}
# fields the SLA computation may write that the chatter tracks
SLA_TRACKED_FIELDS = {"sla_hold_until", "sla_hold_reason"}
# what the SLA and the stage history follow of a lead, read before a write: field, key
SLA_STATE_FIELDS = ["stage_id", "active", "team_id", "user_id", "sla_hold_until", "sla_hold_start", "sla_deadline"]
SLA_STATE_KEYS = ["stage_id", "active", "team_id", "user_id", "hold_until", "hold_start", "deadline"]
# values of a lead without a running SLA
SLA_NONE_VALUES = {
    "sla_state": "none", "sla_priority": 0, "sla_deadline": False, "sla_due_soon_date": False,
    "sla_escalation_date": False, "sla_leader_date": False,
}


class CrmLead(models.Model):
    _inherit = "crm.lead"

    # Checklist
    checklist_line_ids = fields.One2many("crm.lead.checklist.line", "lead_id", string="Checklist")
    # counts of one lead: no sum in the kanban's column headers and reports
    checklist_mandatory_total = fields.Integer(
        "Mandatory Items", compute="_compute_checklist_progress", store=True, aggregator=None)
    checklist_mandatory_done = fields.Integer(
        "Mandatory Items Done", compute="_compute_checklist_progress", store=True, aggregator=None)
    checklist_progress = fields.Float(
        compute="_compute_checklist_progress", store=True, aggregator="avg",
        help="Share of the current stage's mandatory checklist items that are done or skipped (%).")
    # Entry requirements: fields the form marks required (current and next stage), as ",name,name,"
    stage_required_fields = fields.Char("Required Fields", compute="_compute_stage_required_fields")
    # Loss: where and why
    lost_stage_id = fields.Many2one(
        "crm.stage", string="Lost in Stage", compute="_compute_lost_stage_id", store=True, index="btree_not_null",
        help="Stage the lead was in when it was lost; restoring the lead puts it back there.")
    lost_competitor_id = fields.Many2one(
        "res.partner", string="Lost to Competitor", tracking=True, index="btree_not_null",
        help="The competitor who won the deal.")
    lost_competitor_name = fields.Char("Competitor Name", tracking=True)
    lost_note = fields.Text(tracking=True)
    # Pipelines using their own stages only: the status bar offers no shared stage
    team_own_stages_only = fields.Boolean(related="team_id.own_stages_only", string="Pipeline Uses Own Stages Only")
    # "Move to Stage" dialog: open mandatory items of the current stage
    stage_move_line_ids = fields.Many2many(
        "crm.lead.checklist.line", string="Open Mandatory Items", compute="_compute_stage_move_line_ids")

    # SLA: time budget of the stay in the current stage (configured on the stage)
    sla_state = fields.Selection(
        SLA_STATES, string="SLA Status", required=True, default="none", index=True, copy=False, readonly=True,
        help="Traffic light of the lead's time budget in its stage: on track, due soon, overdue. Won, lost "
        "and on hold leads, and leads in stages without SLA, have none.")
    sla_deadline = fields.Datetime(
        "SLA Deadline", copy=False, readonly=True,
        help="When the lead becomes overdue in its stage, time on hold and, where the stage says so, "
        "planned activities included.")
    sla_due_soon_date = fields.Datetime("SLA Due Soon From", copy=False, readonly=True)
    sla_priority = fields.Integer(
        "SLA Urgency", copy=False, readonly=True, default=0,
        help="0 no SLA, 1 on track, 2 due soon, 3 overdue: to sort by urgency.")
    sla_start_date = fields.Datetime(
        "SLA Clock Start", copy=False, readonly=True,
        help="When the current stay started: stage entry, creation or restore.")
    sla_paused_hours = fields.Float(
        "SLA Hours on Hold", copy=False, readonly=True,
        help="Time on hold during the current stay, counted as the SLA is, added to the time budget.")
    sla_escalation_date = fields.Datetime(
        "SLA Escalation Due", copy=False, readonly=True, index="btree_not_null",
        help="When the scheduled sweep schedules an activity for the salesperson; emptied once done.")
    sla_leader_date = fields.Datetime(
        "SLA Leader Notification Due", copy=False, readonly=True, index="btree_not_null",
        help="When the scheduled sweep notifies the team leader; emptied once done.")
    sla_escalated_date = fields.Datetime("SLA Escalated On", copy=False, readonly=True)
    sla_leader_notified_date = fields.Datetime("Team Leader Notified On", copy=False, readonly=True)
    days_in_stage = fields.Integer(
        "Days in Stage", compute="_compute_days_in_stage",
        help="Days since the lead entered its current stage.")
    days_in_process = fields.Integer(
        "Days in Process", compute="_compute_days_in_process",
        help="Days from the lead's creation to today, or to the day it was won or lost.")
    # SLA: on hold
    sla_hold_until = fields.Date(
        "On Hold Until", copy=False, tracking=True,
        help="The SLA clock stops until this date, and restarts by itself on it.")
    sla_hold_reason = fields.Char("Hold Reason", copy=False, tracking=True)
    sla_hold_start = fields.Datetime("On Hold Since", copy=False, readonly=True)
    sla_resume_date = fields.Datetime("SLA Resumes At", copy=False, readonly=True, index="btree_not_null")
    # Stage history: one row per stay in a stage
    stage_history_ids = fields.One2many("crm.lead.stage.history", "lead_id", copy=False, readonly=True)

    @api.depends("stage_id", "checklist_line_ids.state", "checklist_line_ids.stage_id",
                 "checklist_line_ids.is_mandatory")
    def _compute_checklist_progress(self):
        # saved leads: counted in one query (a mass move recomputes thousands of leads with their lines);
        # leads being edited in a form (new records) from their lines in memory
        saved = self.filtered(lambda lead: isinstance(lead.id, int))
        counts = {}  # (lead id, stage id): (mandatory lines, done or skipped)
        if saved:
            self.env["crm.lead.checklist.line"].flush_model(["lead_id", "stage_id", "state", "is_mandatory"])
            self.env.cr.execute(SQL("""
                SELECT lead_id, stage_id, count(*), count(*) FILTER (WHERE state != 'open')
                  FROM crm_lead_checklist_line
                 WHERE lead_id = ANY(%s) AND is_mandatory
              GROUP BY lead_id, stage_id
            """, saved.ids))
            counts = {(lead_id, stage_id): (total, done) for lead_id, stage_id, total, done in self.env.cr.fetchall()}
        for lead in self:
            if isinstance(lead.id, int):
                total, done = counts.get((lead.id, lead.stage_id.id), (0, 0))
            else:
                lines = lead.checklist_line_ids.filtered(
                    lambda line, stage=lead.stage_id: line.is_mandatory and line.stage_id == stage)
                total, done = len(lines), len(lines.filtered(lambda line: line.state != "open"))
            lead.checklist_mandatory_total = total
            lead.checklist_mandatory_done = done
            lead.checklist_progress = 100.0 * done / total if total else 0.0

    @api.depends("stage_id", "team_id")
    def _compute_stage_required_fields(self):
        rules = self.env["crm.stage"]._get_process_rules()["stages"]
        next_stages = {}
        for lead in self:
            names = set()
            if lead.stage_id.id in rules:
                names.update(rules[lead.stage_id.id]["required_fields"])
                next_stage = lead._get_next_stage_id(rules, next_stages)
                if next_stage:
                    names.update(rules[next_stage]["required_fields"])
            lead.stage_required_fields = f",{','.join(sorted(names))}," if names else False

    @api.depends("active")
    def _compute_lost_stage_id(self):
        for lead in self:
            if lead.active:
                lead.lost_stage_id = False
            elif not lead.lost_stage_id:
                lead.lost_stage_id = lead.stage_id

    @api.depends("stage_id", "checklist_line_ids.state")
    def _compute_stage_move_line_ids(self):
        for lead in self:
            lead.stage_move_line_ids = lead.checklist_line_ids.filtered(
                lambda line, stage=lead.stage_id: line.stage_id == stage and line.is_mandatory
                and line.state == "open")

    @api.depends("date_last_stage_update")
    def _compute_days_in_stage(self):
        # the clock, not the transaction's timestamp (cr.now() costs a query in each request reading cards)
        now = fields.Datetime.now()
        for lead in self:
            entered = lead.date_last_stage_update
            lead.days_in_stage = max((now - entered).days, 0) if entered else 0

    @api.depends("create_date", "date_closed")
    def _compute_days_in_process(self):
        now = fields.Datetime.now()
        for lead in self:
            start = lead.create_date or now
            lead.days_in_process = max(((lead.date_closed or now) - start).days, 0)

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        leads = super().create(vals_list)
        lost = leads.filtered(lambda lead: not lead.active)
        if lost:
            lost._check_loss({})
        rules = self.env["crm.stage"]._get_process_rules()
        moves = [(lead, False, lead.stage_id.id) for lead in leads if lead.stage_id]
        if any(self.env["crm.stage"]._has_process_rules(new) for __, __, new in moves):
            # values are final only once created (computed stage, defaults): check them now,
            # raising undoes the whole create
            leads._check_stage_moves(moves, rules)
            leads._enter_stages(moves, rules)
        if rules["fixed_probability_teams"]:
            given = {lead.id for lead, vals in zip(leads, vals_list, strict=True) if "probability" in vals}
            leads._set_fixed_probability([move for move in moves if move[0].id not in given], rules)
        leads._sla_after_create()
        return leads

    def write(self, vals):
        back_to = {}
        if "active" in vals:
            if not vals["active"]:
                self.filtered("active")._check_loss(vals)
            elif restored := self.filtered(lambda lead: not lead.active):
                # restoring a lost lead puts it back in the stage it was lost in, checklist as it was;
                # the loss details go (the chatter keeps them)
                vals = {"lost_competitor_id": False, "lost_competitor_name": False, "lost_note": False, **vals}
                if "stage_id" not in vals:
                    for lead in restored:
                        if lead.lost_stage_id and lead.lost_stage_id != lead.stage_id:
                            back_to.setdefault(lead.lost_stage_id, []).append(lead.id)
        # SLA and stage history: what the write changes, read before it, applied after it in batch
        before = self._sla_prepare_write(vals)
        res = self._write_stage(vals) if "stage_id" in vals else super().write(vals)
        if before:
            self._sla_after_write(vals, before)
        for stage, lead_ids in back_to.items():
            self.browse(lead_ids).with_context(stage_move_restore=True).write({"stage_id": stage.id})
        return res

    def _write_stage(self, vals):
        """``write`` moving leads: check every move at the gate, write, then enter the stages."""
        rules = self.env["crm.stage"]._get_process_rules()
        new_stage_id = vals["stage_id"] or False
        moves = [(lead, lead.stage_id.id, new_stage_id) for lead in self if lead.stage_id.id != new_stage_id]
        if not moves or not self._moves_have_rules(moves, rules):
            return super().write(vals)
        if not self.env.context.get("stage_move_restore"):
            self._check_stage_moves(moves, rules, vals)
        by_probability = {} if "probability" in vals else self._get_fixed_probabilities(moves, rules)
        if len(by_probability) == 1 and len(next(iter(by_probability.values()))) == len(self):
            # every lead enters a stage with a fixed probability: set in the same write, not in a second one
            vals = {**vals, "probability": next(iter(by_probability))}
            by_probability = {}
        res = super().write(vals)
        self._enter_stages(moves, rules)
        for probability, lead_ids in by_probability.items():
            self.browse(lead_ids).write({"probability": probability})
        return res

    def _get_card_activities(self):
        """The activities of the leads, with the columns the card's activity fields need read at
        once: the first access to an activity would read all its columns (its note among them),
        for the several activities per card the checklists schedule."""
        activities = self.activity_ids
        if len(list(self.env.cache.get_values(activities, activities._fields["date_deadline"]))) < len(activities):
            activities.fetch(["res_id", "active", "date_deadline", "user_id", "user_tz", "activity_type_id", "summary"])
        return activities

    @api.depends("activity_ids.state")
    def _compute_activity_state(self):
        """As mail.activity.mixin, in one pass over the activities of the batch (the mixin maps
        each lead's own): the checklists schedule several activities per lead, and each kanban
        column computes the state of its cards' activities."""
        if not all(isinstance(lead_id, int) for lead_id in self._ids):
            return super()._compute_activity_state()
        states = defaultdict(set)
        for activity in self._get_card_activities():
            states[activity.res_id].add(activity.state)
        for lead in self:
            lead_states = states.get(lead.id, ())
            lead.activity_state = next(
                (state for state in ("overdue", "today", "planned") if state in lead_states), False)
        return None

    @api.depends("activity_ids.activity_type_id.decoration_type", "activity_ids.activity_type_id.icon")
    def _compute_activity_exception_type(self):
        """As mail.activity.mixin (the first "danger" type of the lead's activities, else the last
        "warning" one), in one pass over the activities of the batch."""
        if not all(isinstance(lead_id, int) for lead_id in self._ids):
            return super()._compute_activity_exception_type()
        exception_types = {}  # lead id: activity type
        for activity in self._get_card_activities():
            activity_type = activity.activity_type_id
            current = exception_types.get(activity.res_id)
            if activity_type.decoration_type in ("danger", "warning") and not (
                    current and current.decoration_type == "danger"):
                exception_types[activity.res_id] = activity_type
        for lead in self:
            exception_type = exception_types.get(lead.id)
            lead.activity_exception_decoration = exception_type.decoration_type if exception_type else False
            lead.activity_exception_icon = exception_type.icon if exception_type else False
        return None

    def _read_group_groupby(self, groupby_spec, query):
        """The kanban's progress bar groups the leads by activity state. Odoo's grouping
        (mail.activity.mixin) computes the state of every lead's activities in the database, then
        joins the leads shown: its cost grows with all the activities of all the leads, and the
        checklists schedule several per lead. The same states, computed for the activities of the
        leads shown only (the query's own leads)."""
        if groupby_spec != "activity_state":
            return super()._read_group_groupby(groupby_spec, query)
        self.check_field_access_rights("read", ["activity_state"])
        self.env["mail.activity"].flush_model(["res_model", "res_id", "user_id", "date_deadline"])
        self.env["res.users"].flush_model(["partner_id"])
        self.env["res.partner"].flush_model(["tz"])
        tz = self.env.context.get("tz") if self.env.context.get("tz") in pytz.all_timezones_set else "UTC"
        days = SQL("EXTRACT(day from (mail_activity.date_deadline - DATE_TRUNC('day', %s AT TIME ZONE "
                   "COALESCE(mail_activity.user_tz, %s))))", pytz.utc.localize(datetime.utcnow()), tz)
        sql_join = SQL("""
            (SELECT res_id,
                    CASE WHEN min(%(days)s) > 0 THEN 'planned'
                         WHEN min(%(days)s) < 0 THEN 'overdue'
                         WHEN min(%(days)s) = 0 THEN 'today'
                         ELSE null
                    END AS activity_state
               FROM mail_activity
              WHERE res_model = %(res_model)s AND mail_activity.active = true AND res_id IN %(lead_ids)s
           GROUP BY res_id)
        """, days=days, res_model=self._name, lead_ids=query.subselect())
        alias = query.left_join(self._table, "id", sql_join, "res_id", "last_activity_state")
        return SQL.identifier(alias, "activity_state")

    @api.model
    def _read_group_stage_ids(self, stages, domain):
        """Columns of the board: a pipeline using its own stages only shows no shared stage
        (unless a lead of the board is in it)."""
        columns = super()._read_group_stage_ids(stages, domain)
        team_id = self.env.context.get("default_team_id")
        if team_id in self.env["crm.stage"]._get_process_rules()["own_stages_teams"]:
            columns = columns.filtered(lambda stage: stage.team_id or stage in stages)
        return columns

    def _stage_find(self, team_id=False, domain=None, order="sequence, id", limit=1):
        """Pipelines using their own stages only find their stages among their own (a new lead's stage,
        the won stage of ``action_set_won``, the first stage after a transfer)."""
        team_ids = {team_id} if team_id else set()
        team_ids.update(self.team_id.ids)
        own_stages_teams = self.env["crm.stage"]._get_process_rules()["own_stages_teams"]
        if not team_ids or not team_ids <= own_stages_teams:
            return super()._stage_find(team_id=team_id, domain=domain, order=order, limit=limit)
        return self.env["crm.stage"].search(
            [("team_id", "in", list(team_ids)), *(domain or [])], order=order, limit=limit)

    @api.model
    def _get_view(self, view_id=None, view_type="form", **options):
        """Mark the fields required by the lead's current and next stage as required in forms;
        in the "Move to Stage" dialog, ask for the fields the target stage requires."""
        arch, view = super()._get_view(view_id, view_type, **options)
        if view_type != "form":
            return arch, view
        # the key ends with "_view_ref": the web client sends only those keys (and lang) with get_views,
        # and Odoo's view cache keys on them
        target = self.env.context.get("stage_move_view_ref")
        placeholder = arch.xpath("//group[@name='stage_move_fields']")
        if target and placeholder:
            rules = self.env["crm.stage"]._get_process_rules()["stages"].get(target)
            for name in rules["required_fields"] if rules else ():
                placeholder[0].append(etree.Element("field", name=name, required="1"))
            return arch, view
        rules = self.env["crm.stage"]._get_process_rules()["stages"]
        required = {name for stage in rules.values() for name in stage["required_fields"]}
        if not required:
            return arch, view
        marked = False
        for node in arch.xpath("//field[not(ancestor::field)]"):
            name = node.get("name")
            if name not in required:
                continue
            condition = f"',{name},' in (stage_required_fields or '')"
            if node.get("required") not in (None, "0", "False"):
                condition = f"({node.get('required')}) or {condition}"
            node.set("required", condition)
            marked = True
        if marked and not arch.xpath("//field[@name='stage_required_fields'][not(ancestor::field)]"):
            sheet = (arch.xpath("//sheet") or [arch])[0]
            sheet.append(etree.Element("field", name="stage_required_fields", invisible="1"))
        return arch, view

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_open_stage_move(self):
        """Open the "Move to Stage" wizard."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Move to Stage"),
            "res_model": "crm.lead.stage.move",
            "view_mode": "form",
            "target": "new",
            "context": {"default_lead_id": self.id},
        }

    def action_set_lost(self, **additional_values):
        """Write the loss details before archiving, so that the gate sees the reason with the archive."""
        if additional_values:
            self.write(dict(additional_values))
        return super().action_set_lost()

    def action_open_transfer(self):
        return {
            "type": "ir.actions.act_window",
            "name": _("Transfer to Another Pipeline"),
            "res_model": "crm.lead.transfer",
            "view_mode": "form",
            "target": "new",
            "context": {"default_lead_ids": self.ids},
        }

    def action_stage_move_confirm(self):
        """Button of the "Move to Stage" dialog: the values are saved, move through the gate."""
        self.ensure_one()
        stage_id = self.env.context.get("stage_move_view_ref")
        if not stage_id:
            raise UserError(_("No stage to move to."))
        self.write({"stage_id": stage_id})
        return {"type": "ir.actions.act_window_close"}

    # ------------------------------------------------------------
    # BUSINESS: the stage gate
    # ------------------------------------------------------------

    def _moves_have_rules(self, moves, rules):
        stage_rules = rules["stages"]
        if any(lead.team_id.id in rules["teams"] or lead.team_id.id in rules["fixed_probability_teams"]
               for lead, __, __ in moves):
            return True
        for __, old, new in moves:
            if new and self.env["crm.stage"]._has_process_rules(new):
                return True
            if old in stage_rules and stage_rules[old]["mandatory_item_ids"]:
                return True
        return False

    def _get_next_stage_id(self, stage_rules, memo=None):
        """Id of the stage following the lead's stage in its pipeline (won stages excluded).

        :param memo: a dict the calls of one batch share, {(stage id, team id): next stage id}: the
            stages are scanned once per stage and pipeline, not once per lead"""
        self.ensure_one()
        memo_key = (self.stage_id.id, self.team_id.id)
        if memo is not None and memo_key in memo:
            return memo[memo_key]
        current = stage_rules.get(self.stage_id.id)
        next_stage_id = False
        if current:
            key = (current["sequence"], self.stage_id.id)
            own_only = self.team_id.id in self.env["crm.stage"]._get_process_rules()["own_stages_teams"]
            pipeline = (self.team_id.id,) if own_only else (False, self.team_id.id)
            candidates = [
                (rule["sequence"], stage_id) for stage_id, rule in stage_rules.items()
                if rule["team_id"] in pipeline and not rule["is_won"]
                and (rule["sequence"], stage_id) > key
            ]
            next_stage_id = min(candidates)[1] if candidates else False
        if memo is not None:
            memo[memo_key] = next_stage_id
        return next_stage_id

    @api.model
    def _is_forward(self, stage_rules, old, new):
        if not old or not new:
            return False
        if stage_rules[new]["is_won"] and not stage_rules[old]["is_won"]:
            return True
        return (stage_rules[new]["sequence"], new) > (stage_rules[old]["sequence"], old)

    def _check_stage_moves(self, moves, rules, vals=None):
        """The gate: check every move of the batch at once and refuse them all with one message
        naming each lead, stage and what it lacks. A sales manager's forced move (context key
        ``stage_move_force_reason``) passes and is recorded in the chatter with what it bypassed.

        :param moves: list of (lead, old stage id, new stage id)
        :param vals: values of the write being checked (the values the leads will have)
        """
        problems = self._get_stage_move_problems(moves, rules, vals or {})
        if not problems:
            return
        reason = self.env.context.get("stage_move_force_reason")
        if reason:
            if not self.env.user.has_group("sales_team.group_sale_manager"):
                raise UserError(_("Only sales managers can force a stage move past its rules."))
            bodies = {}
            for lead, lines in problems.items():
                bodies[lead.id] = Markup("<p>%s</p><ul>%s</ul>") % (
                    _("Stage move forced past the process rules. Reason: %(reason)s", reason=reason),
                    Markup().join(Markup("<li>%s</li>") % escape(line) for line in lines),
                )
            self.browse([lead.id for lead in problems])._message_log_batch(bodies)
            return
        message = _("These stage moves are refused:") + "\n" + "\n".join(
            f"- {lead.display_name}: {line}" for lead, lines in problems.items() for line in lines)
        message += "\n" + _(
            "Fill in what is missing and complete the open items, or use “Move to Stage” on the lead "
            "to do it in one step.")
        raise UserError(message)

    def _get_stage_move_problems(self, moves, rules, vals):
        """:return: {lead: [problem, ...]} in the user's language, for the moves that break a rule."""
        stage_rules, team_policies = rules["stages"], rules["teams"]
        Stage = self.env["crm.stage"]
        problems = defaultdict(list)
        # names for the messages: read when a move is refused only (the stages of the batch at once)
        moved_stages = Stage.browse({stage for __, old, new in moves for stage in (old, new) if stage})
        names = {}

        def stage_name(stage_id):
            if not names:
                names.update((stage.id, stage.display_name) for stage in moved_stages)
            return names.get(stage_id) or Stage.browse(stage_id).display_name

        today = fields.Date.context_today(self)

        # open mandatory items of the stages left forward: one query for the batch
        # a transfer to another pipeline leaves it: not a move forward in it
        transfer = "team_id" in vals and any(lead.team_id.id != vals["team_id"] for lead, __, __ in moves)
        leaving = [(lead, old) for lead, old, new in moves
                   if not transfer and old in stage_rules and stage_rules[old]["mandatory_item_ids"]
                   and new in stage_rules and self._is_forward(stage_rules, old, new)]
        open_lines = defaultdict(list)
        if leaving:
            for line in self.env["crm.lead.checklist.line"].sudo().search_fetch([
                ("lead_id", "in", [lead.id for lead, __ in leaving]),
                ("stage_id", "in", list({old for __, old in leaving})),
                ("state", "=", "open"), ("is_mandatory", "=", True),
            ], ["lead_id", "stage_id", "name"]):
                open_lines[line.lead_id.id, line.stage_id.id].append(line.name)

        # a planned next activity is one the rep planned, not a checklist item's
        checklist_activity_ids = set()
        if any(stage_rules.get(new, {}).get("require_next_activity") for __, __, new in moves):
            leads = self.browse([lead.id for lead, __, new in moves
                                 if stage_rules.get(new, {}).get("require_next_activity")])
            checklist_activity_ids = set(self.env["crm.lead.checklist.line"].sudo().search_fetch(
                [("activity_id", "in", leads.activity_ids.ids)], ["activity_id"]).activity_id.ids)

        next_stages = {}
        for lead, old, new in moves:
            new_rules = stage_rules.get(new)
            if not new_rules:
                continue
            # pipeline policy: skipping stages, moving back, winning from some stages only
            policy = None if transfer else team_policies.get(lead.team_id.id)
            if policy and policy[2] and new_rules["is_won"] and old not in policy[2]:
                problems[lead].append(_(
                    "pipeline “%(team)s” allows winning only from %(stages)s",
                    team=lead.team_id.name, stages=", ".join(Stage.browse(policy[2]).mapped("display_name"))))
            if policy and old in stage_rules and not new_rules["is_won"]:
                allow_skip, allow_back, __ = policy
                if not allow_back and not self._is_forward(stage_rules, old, new):
                    problems[lead].append(_(
                        "pipeline “%(team)s” does not allow moving back from “%(old)s” to “%(new)s”",
                        team=lead.team_id.name, old=stage_name(old), new=stage_name(new)))
                elif not allow_skip and self._is_forward(stage_rules, old, new) \
                        and new != lead._get_next_stage_id(stage_rules, next_stages):
                    problems[lead].append(_(
                        "pipeline “%(team)s” does not allow skipping stages: from “%(old)s” the next stage "
                        "is “%(next)s”", team=lead.team_id.name, old=stage_name(old),
                        next=Stage.browse(lead._get_next_stage_id(stage_rules, next_stages)).display_name))
            # open mandatory items of the stage left
            if open_lines.get((lead.id, old)):
                problems[lead].append(_(
                    "cannot leave “%(stage)s” with open mandatory items: %(items)s",
                    stage=stage_name(old), items=", ".join(open_lines[lead.id, old])))
            # fields required to enter
            missing = [
                lead._fields[name]._description_string(self.env)
                for name in new_rules["required_fields"]
                if lead._is_stage_value_missing(name, vals)
            ]
            if new_rules["require_next_activity"] and not any(
                    activity.date_deadline >= today and activity.id not in checklist_activity_ids
                    for activity in lead.activity_ids):
                missing.append(_("a planned next activity"))
            if missing:
                problems[lead].append(_(
                    "cannot enter “%(stage)s” without %(fields)s",
                    stage=stage_name(new), fields=", ".join(missing)))
        return problems

    def _check_loss(self, vals):
        """The loss gate: open leads about to be lost (archived) in pipelines requiring a lost reason
        must give one, of their company, with the details it asks for. One message for the batch."""
        leads = self.filtered(lambda lead: lead.team_id.lost_reason_required)
        if not leads:
            return
        def value(lead, name):
            if name in vals:
                field = self._fields[name]
                return field.convert_to_record(field.convert_to_cache(vals[name], lead), lead)
            return lead[name]

        # completed activities are logged as messages carrying their type: one query for the batch
        reasons = self.env["crm.lost.reason"].browse()
        for lead in leads:
            reasons |= value(lead, "lost_reason_id")
        done_counts = {}
        if any(reason.required_activity_count for reason in reasons):
            for res_id, activity_type, count in self.env["mail.message"].sudo()._read_group(
                [("model", "=", "crm.lead"), ("res_id", "in", leads.ids),
                 ("mail_activity_type_id", "in", reasons.required_activity_type_id.ids)],
                ["res_id", "mail_activity_type_id"], ["__count"],
            ):
                done_counts[res_id, activity_type.id] = count

        problems = defaultdict(list)
        for lead in leads:
            reason = value(lead, "lost_reason_id")
            if not reason:
                problems[lead].append(_("pipeline “%(team)s” requires a lost reason", team=lead.team_id.name))
                continue
            if reason.company_id and lead.company_id and reason.company_id != lead.company_id:
                problems[lead].append(_(
                    "lost reason “%(reason)s” belongs to company %(company)s", reason=reason.name,
                    company=reason.company_id.name))
            if reason.team_ids and lead.team_id not in reason.team_ids:
                problems[lead].append(_(
                    "lost reason “%(reason)s” is not one of pipeline “%(team)s”", reason=reason.name,
                    team=lead.team_id.name))
            if reason.requires_competitor and not value(lead, "lost_competitor_id") \
                    and not (value(lead, "lost_competitor_name") or "").strip():
                problems[lead].append(_("lost reason “%(reason)s” requires the competitor", reason=reason.name))
            if reason.requires_note and not (value(lead, "lost_note") or "").strip():
                problems[lead].append(_("lost reason “%(reason)s” requires a note", reason=reason.name))
            if reason.required_activity_count:
                done = done_counts.get((lead.id, reason.required_activity_type_id.id), 0)
                if done < reason.required_activity_count:
                    problems[lead].append(_(
                        "lost reason “%(reason)s” requires %(count)s completed “%(type)s” activities (%(done)s done)",
                        reason=reason.name, count=reason.required_activity_count,
                        type=reason.required_activity_type_id.name, done=done))
        if problems:
            raise UserError(_("These leads cannot be marked lost:") + "\n" + "\n".join(
                f"- {lead.display_name}: {line}" for lead, lines in problems.items() for line in lines))

    def _is_stage_value_missing(self, name, vals):
        """Whether field ``name`` is empty once ``vals`` are written: zero, empty and false are
        missing, and an amount must be above zero."""
        self.ensure_one()
        field = self._fields[name]
        if name in vals:
            value = field.convert_to_record(field.convert_to_cache(vals[name], self), self)
        else:
            value = self[name]
        if field.type == "monetary":
            return not value or value <= 0
        if isinstance(value, str):
            return not value.strip()
        return not value

    def _set_fixed_probability(self, moves, rules):
        """In pipelines using fixed probabilities, a lead entering a stage gets the stage's probability;
        other pipelines keep Odoo's predictive scoring untouched."""
        for probability, lead_ids in self._get_fixed_probabilities(moves, rules).items():
            self.browse(lead_ids).write({"probability": probability})

    def _get_fixed_probabilities(self, moves, rules):
        """:return: {probability: [lead id]} of the moves into stages with a fixed probability"""
        by_probability = defaultdict(list)
        for lead, __, new in moves:
            if new in rules["stages"] and not rules["stages"][new]["is_won"] \
                    and lead.team_id.id in rules["fixed_probability_teams"]:
                by_probability[rules["stages"][new]["fixed_probability"]].append(lead.id)
        return by_probability

    def _enter_stages(self, moves, rules):
        """After a move: give the leads the checklist of the stage they entered (lines they do not
        have yet; re-entering reuses them) and schedule an activity for each responsible.

        One statement whatever the number of leads: the rows (lead, item, responsible, due date)
        go to PostgreSQL as arrays; it skips the lines the leads already have, inserts the
        activities, then the lines linked to them. A mass move of 1000 leads schedules thousands of
        activities, which ``mail.activity.create`` would insert 100 a query, with defaults and
        computations per record (~0.3 ms each). What that create does besides inserting rows is done
        here for the batch: the assignees follow the leads, an assignee other than the mover is
        notified when a single lead moves (a batch shows in "My Activities"), the activity counters
        of the assignees refresh.
        """
        stage_rules = rules["stages"]
        leads_by_stage = defaultdict(list)
        for lead, __, new in moves:
            if new in stage_rules and stage_rules[new]["item_ids"]:
                leads_by_stage[new].append(lead)
        if not leads_by_stage:
            return
        items = self.env["crm.stage.checklist.item"].sudo().browse(
            [item for stage in leads_by_stage for item in stage_rules[stage]["item_ids"]])
        now = self.env.cr.now()
        deadlines = {item: item._get_deadline(now) for item in items}
        rows = []  # (lead id, item id, responsible id, due date)
        responsibles = {}  # (item, salesperson id, team leader id): responsible id
        for stage_id, leads in leads_by_stage.items():
            stage_items = items.filtered(lambda item, stage_id=stage_id: item.stage_id.id == stage_id)
            for lead in leads:
                owners = (lead.user_id.id, lead.team_id.user_id.id)
                for item in stage_items:
                    key = (item, *owners)
                    if key not in responsibles:
                        responsibles[key] = item._get_responsible_id(*owners)
                    rows.append((lead.id, item.id, responsibles[key], deadlines[item]))
        # the activity's summary and note, in the mover's language (mail.activity.create copies them so)
        activity_items = items.filtered("activity_type_id")
        leads = self.browse({row[0] for row in rows})
        self.env["crm.lead"].flush_model(["company_id"])
        self.env["crm.stage"].flush_model(["sequence"])
        self.env["res.users"].flush_model(["partner_id"])
        self.env["res.partner"].flush_model(["tz"])
        items.flush_recordset()
        self.env.cr.execute(SQL("""
            WITH new AS (
                SELECT new.*, lead.company_id, users.partner_id, partner.tz,
                       CASE WHEN act.type_id IS NOT NULL THEN nextval('mail_activity_id_seq') END AS activity_id
                  FROM unnest(%(lead_ids)s::int[], %(item_ids)s::int[], %(user_ids)s::int[], %(dates)s::date[])
                       WITH ORDINALITY AS new(lead_id, item_id, user_id, date_deadline, position)
                  JOIN crm_lead lead ON lead.id = new.lead_id
                  JOIN res_users users ON users.id = new.user_id
                  JOIN res_partner partner ON partner.id = users.partner_id
             LEFT JOIN unnest(%(act_item_ids)s::int[], %(act_type_ids)s::int[])
                       AS act(item_id, type_id) ON act.item_id = new.item_id
                 WHERE NOT EXISTS (SELECT FROM crm_lead_checklist_line line
                                    WHERE line.lead_id = new.lead_id AND line.item_id = new.item_id)
            ),
            activity AS (
                INSERT INTO mail_activity (
                    id, res_model_id, res_model, res_id, res_name, activity_type_id, summary, note, date_deadline,
                    automated, user_id, user_tz, active, create_uid, create_date, write_uid, write_date)
                SELECT new.activity_id, %(model_id)s, %(model)s, new.lead_id, names.name, act.type_id, act.summary,
                       act.note, new.date_deadline, FALSE, new.user_id, new.tz, TRUE, %(uid)s, %(now)s, %(uid)s,
                       %(now)s
                  FROM new
                  JOIN unnest(%(act_item_ids)s::int[], %(act_type_ids)s::int[], %(summaries)s::varchar[],
                              %(notes)s::text[]) AS act(item_id, type_id, summary, note) ON act.item_id = new.item_id
                  JOIN unnest(%(name_lead_ids)s::int[], %(names)s::varchar[]) AS names(lead_id, name)
                       ON names.lead_id = new.lead_id
              ORDER BY new.position
            ),
            line AS (
                INSERT INTO crm_lead_checklist_line (
                    lead_id, company_id, stage_id, stage_sequence, item_id, name, description, sequence, is_mandatory,
                    needs_attachment, user_id, date_deadline, state, activity_id)
                SELECT new.lead_id, new.company_id, item.stage_id, stage.sequence, item.id, item.name, item.description,
                       item.sequence, item.is_mandatory, item.needs_attachment, new.user_id, new.date_deadline, 'open',
                       new.activity_id
                  FROM new
                  JOIN crm_stage_checklist_item item ON item.id = new.item_id
                  JOIN crm_stage stage ON stage.id = item.stage_id
              ORDER BY new.position
             RETURNING lead_id, user_id, activity_id, date_deadline
            )
            SELECT line.lead_id, line.user_id, line.activity_id, line.date_deadline, users.partner_id
              FROM line JOIN res_users users ON users.id = line.user_id
        """,
            lead_ids=[row[0] for row in rows], item_ids=[row[1] for row in rows],
            user_ids=[row[2] for row in rows], dates=[row[3] for row in rows],
            act_item_ids=activity_items.ids, act_type_ids=[item.activity_type_id.id for item in activity_items],
            summaries=activity_items.mapped("name"),
            notes=[str(escape(item.description)) if item.description else None for item in activity_items],
            name_lead_ids=leads.ids, names=leads.sudo().mapped("display_name"),
            model_id=self.env["ir.model"]._get_id(self._name), model=self._name, uid=self.env.uid, now=now,
        ))
        created = self.env.cr.fetchall()  # (lead id, responsible id, activity id, due date, responsible's partner)
        if not created:
            return
        leads = self.browse({lead_id for lead_id, *__ in created})
        leads.invalidate_recordset(["checklist_line_ids", "activity_ids"])
        # the checklist progress and the activity fields of the leads follow the new rows
        leads.modified(["checklist_line_ids", "activity_ids"])
        activities = [row for row in created if row[2]]
        if activities:
            self._checklist_activities_created(activities)

    def _checklist_activities_created(self, activities):
        """What ``mail.activity.create`` does besides inserting, for the checklist activities
        ``_enter_stages`` inserted: the assignees follow the leads (one call per assignee), the
        assignees other than the mover are notified when a single lead moved (Odoo does when one
        activity is scheduled by hand; a batch shows in "My Activities" without an email each), the
        activity counters of the assignees refresh.

        :param activities: [(lead id, responsible id, activity id, due date, responsible's partner id)]
        """
        lead_ids_by_partner = defaultdict(set)
        for lead_id, __, __, __, partner_id in activities:
            lead_ids_by_partner[partner_id].add(lead_id)
        for partner_id, lead_ids in lead_ids_by_partner.items():
            self.sudo().browse(lead_ids).message_subscribe(partner_ids=[partner_id])
        single = len({lead_id for lead_id, *__ in activities}) == 1 and len(self) == 1
        if single and not self.env.context.get("mail_activity_quick_update"):
            others = [activity_id for __, user_id, activity_id, __, __ in activities if user_id != self.env.uid]
            self.env["mail.activity"].sudo().browse(others).action_notify()
        today = fields.Date.context_today(self)
        due = {user_id for __, user_id, __, deadline, __ in activities if deadline <= today}
        if due:
            self.env["res.users"].browse(due)._bus_send("mail.activity/updated", {"activity_created": True})

    # ------------------------------------------------------------
    # SLA: computing the time budget of the stays
    # ------------------------------------------------------------

    def _auto_init(self):
        res = super()._auto_init()
        # the sweep looks for running SLAs whose time has come: partial indexes hold just those
        tools.create_index(self._cr, "crm_lead_sla_deadline_running_index", self._table, ["sla_deadline"],
                           where="sla_state IN ('on_track', 'due_soon')")
        tools.create_index(self._cr, "crm_lead_sla_due_soon_running_index", self._table, ["sla_due_soon_date"],
                           where="sla_state = 'on_track'")
        return res

    def _sla_get_calendar(self):
        """Working calendar of the lead's SLA: its team's, else its company's (else the current one's)."""
        self.ensure_one()
        return (self.team_id.resource_calendar_id or self.company_id.resource_calendar_id
                or self.env.company.resource_calendar_id)

    @api.model
    def _sla_hours(self, duration, clock):
        """Hours of ``duration`` = (value, unit) on ``clock``: a day is 24 hours in calendar time and
        the calendar's average hours per day in working time ("within one working day" is the
        calendar's day of work, from whenever the lead arrives)."""
        value, unit = duration
        if unit != "days":
            return value
        return value * ((clock.calendar.hours_per_day or 8.0) if clock.working else 24.0)

    def _sla_get_activity_dates(self, stage_rules):
        """{lead id: latest date of its planned activities} for the leads in stages whose clock
        waits for planned activities (one query for the batch)."""
        lead_ids = [
            lead.id for lead in self
            if (stage_rules.get(lead.stage_id.id) or {}).get("sla")
            and stage_rules[lead.stage_id.id]["sla"]["activity_aware"]
        ]
        if not lead_ids:
            return {}
        # escalations of the SLA itself are no planned next step
        escalation_types = {rule["sla"]["activity_type_id"] for rule in stage_rules.values() if rule["sla"]}
        # the id from the registry's cache (env.ref would check that the record exists: a query per move)
        escalation_types.add(self.env["ir.model.data"]._xmlid_to_res_id(
            "sales_process_stages.mail_activity_type_sla_overdue", raise_if_not_found=False))
        return dict(self.env["mail.activity"].sudo()._read_group(
            [("res_model", "=", self._name), ("res_id", "in", lead_ids),
             ("activity_type_id", "not in", [type_id for type_id in escalation_types if type_id])],
            ["res_id"], ["date_deadline:max"]))

    def _sla_recompute(self, reset=False, sync=True):
        """Compute and store the SLA of the leads, in batch: deadline, due soon date, state,
        escalation queue, hold bookkeeping. Calendars are read once per batch.

        :param reset: a new stay starts now (stage entry, creation, restore): the clock starts now
            and escalations may happen again
        :param sync: copy the new deadlines on the leads' open stays (unless a new stay starts)
        """
        if not self:
            return
        now = self.env.cr.now()
        leads = self.sudo().with_context(sla_internal=True)
        stage_rules = self.env["crm.stage"]._get_process_rules()["stages"]
        activity_dates = leads._sla_get_activity_dates(stage_rules)
        clocks = {}
        lead_ids_by_vals = defaultdict(list)
        for lead in leads:
            vals = lead._sla_compute_values(stage_rules, clocks, activity_dates, now, reset)
            lead_ids_by_vals[tuple(sorted(vals.items()))].append(lead.id)
        # one write per set of values, one UPDATE per set of fields when flushed; the SLA fields are not
        # tracked: no tracking to prepare (mail.thread would read every tracked field of the leads each time)
        untracked = leads.with_context(tracking_disable=True)
        for vals, lead_ids in lead_ids_by_vals.items():
            vals = dict(vals)
            (leads if SLA_TRACKED_FIELDS.intersection(vals) else untracked).browse(lead_ids).write(vals)
        if sync and not reset:
            self.env["crm.lead.stage.history"]._sync_open_stays(leads)

    @api.model
    def _sla_recompute_search(self, domain, batch_size=1000):
        """Recompute the SLA of the open leads matching ``domain`` (a stage or a team whose
        settings changed), by batches of ``batch_size`` leads: constant memory."""
        lead_ids = self.sudo().search(expression.AND([domain, [("active", "=", True)]])).ids
        for batch_ids in split_every(batch_size, lead_ids):
            leads = self.sudo().browse(batch_ids)
            leads._sla_recompute()
            self.env.invalidate_all()  # flushes first

    def _sla_compute_values(self, stage_rules, clocks, activity_dates, now, reset):
        """SLA values of the lead at ``now`` (see ``_sla_recompute``)."""
        self.ensure_one()
        rule = stage_rules.get(self.stage_id.id) or {}
        sla = rule.get("sla") if not rule.get("is_won") else None
        is_open = self.active and self.stage_id and not rule.get("is_won")
        vals = {}
        if not is_open:
            # won, lost or without a stage: no running SLA, no hold
            vals.update(SLA_NONE_VALUES, sla_hold_start=False, sla_resume_date=False)
            if self.sla_hold_until or self.sla_hold_reason:
                vals.update(sla_hold_until=False, sla_hold_reason=False)
            return vals
        on_hold = bool(self.sla_hold_until)
        if reset:
            start, paused, hold_start = now, 0.0, now if on_hold else False
            vals.update(sla_start_date=now, sla_escalated_date=False, sla_leader_notified_date=False)
            escalated = notified = False
        else:
            start = self.sla_start_date or self.date_last_stage_update or now
            paused, hold_start = self.sla_paused_hours, self.sla_hold_start
            escalated, notified = self.sla_escalated_date, self.sla_leader_notified_date
            if on_hold and not hold_start:
                hold_start = now  # the hold begins
        # the calendar only matters with a time budget or a hold (none read for plain pipelines)
        calendar = self._sla_get_calendar() if sla or on_hold else None
        clock = None
        if sla:
            key = (calendar.id, sla["working"])
            clock = clocks.get(key) or clocks.setdefault(key, SlaClock(calendar, sla["working"]))
        if not on_hold and hold_start:
            # the hold ends: the time on hold is added to the budget
            if clock:
                paused += max(clock.hours_between(hold_start, now), 0.0)
            hold_start = False
        vals.update(
            sla_paused_hours=paused, sla_hold_start=hold_start,
            sla_resume_date=clock_day_start(clock or SlaClock(calendar), self.sla_hold_until) if on_hold else False,
        )
        if not sla:
            vals.update(SLA_NONE_VALUES)
            return vals
        budget = self._sla_hours(sla["duration"], clock)
        stage_deadline = clock.plan(start, budget + paused)
        if stage_deadline is None:
            _logger.warning("Working calendar %s has no working time: SLA of lead %s counted in calendar time",
                            calendar.display_name, self.id)
            clock = clocks.setdefault((calendar.id, False), SlaClock(calendar, False))
            stage_deadline = clock.plan(start, budget + paused)
        deadline = stage_deadline
        activity_date = activity_dates.get(self.id)
        if activity_date:
            # a planned next step: not overdue before the end of its day
            deadline = max(deadline, clock.day_end(activity_date))
        if sla["due_soon_percent"] is not None:
            margin = budget * (100.0 - sla["due_soon_percent"]) / 100.0
        else:
            margin = self._sla_hours(sla["due_soon_before"], clock)
        due_soon = (clock.plan(deadline, -margin) if margin > 0 else None) or deadline
        if on_hold:
            state = "none"
        elif now >= deadline:
            state = "overdue"
        elif now >= due_soon:
            state = "due_soon"
        else:
            state = "on_track"
        vals.update(
            sla_state=state, sla_priority=SLA_PRIORITY[state], sla_deadline=deadline, sla_due_soon_date=due_soon,
            sla_escalation_date=deadline if sla["escalate"] and not escalated and not on_hold else False,
            sla_leader_date=clock.plan(deadline, self._sla_hours(sla["leader_delay"], clock)) or deadline
            if sla["notify_leader"] and not notified and not on_hold else False,
        )
        return vals

    # ------------------------------------------------------------
    # SLA and stage history: hooks of create, write, merge, activities
    # ------------------------------------------------------------

    def _sla_after_create(self):
        """New leads with a stage start their first stay."""
        leads = self.filtered(lambda lead: lead.active and lead.stage_id)
        if not leads:
            return
        leads._sla_recompute(reset=True)
        self.env["crm.lead.stage.history"]._write_stays(opening={"create": leads})

    def _sla_prepare_write(self, vals):
        """What the SLA and the history need to know of the leads before ``vals`` are written,
        or None when the write changes nothing they follow (most writes: no cost)."""
        if self.env.context.get("sla_internal") or not SLA_WRITE_TRIGGERS.intersection(vals):
            return None
        if vals.get("sla_hold_until"):
            self._sla_check_hold(vals)
        return self._sla_get_state()

    def _sla_get_state(self):
        """{lead id: {what the SLA and the history follow}} (many2one values as ids)."""
        columns = self._get_cache_columns(SLA_STATE_FIELDS)
        return {
            lead_id: {key: False if value is None else value for key, value in zip(SLA_STATE_KEYS, values, strict=True)}
            for lead_id, *values in zip(self._ids, *(columns[name] for name in SLA_STATE_FIELDS), strict=True)
        }

    def _get_cache_columns(self, fnames):
        """{field name: [the value of each lead]} as the ORM's cache holds them (ids for many2one
        fields, None for empty values), for a batch of leads without a record object per lead and
        field. Values not in the cache, or to recompute, are first read through the ORM (fetched in
        batch, or computed). For stored simple fields and many2one fields only."""
        cache = self.env.cache
        columns = {}
        for name in fnames:
            field = self._fields[name]
            values = list(cache.get_values(self, field))
            if len(values) != len(self) or self.env.records_to_compute(field) & self:
                self.mapped(name)  # fetched in batch, or computed
                values = list(cache.get_values(self, field))
            columns[name] = values
        return columns

    def _sla_check_hold(self, vals):
        """A hold needs a reason and a date to come, on an open lead."""
        hold_until = fields.Date.to_date(vals["sla_hold_until"])
        if hold_until <= fields.Date.context_today(self):
            raise UserError(_("A lead is put on hold until a date to come, not %(date)s.", date=hold_until))
        stage_rules = self.env["crm.stage"]._get_process_rules()["stages"]
        for lead in self:
            reason = vals["sla_hold_reason"] if "sla_hold_reason" in vals else lead.sla_hold_reason
            if not (reason or "").strip():
                raise UserError(_("Say why “%(lead)s” is put on hold.", lead=lead.display_name))
            if not lead.active or (stage_rules.get(lead.stage_id.id) or {}).get("is_won"):
                raise UserError(_("“%(lead)s” is won or lost: it cannot be put on hold.", lead=lead.display_name))

    def _sla_after_write(self, vals, before):
        """After a write: close the stays that ended, recompute the SLA of the leads it changes,
        open the stays that started, record holds; all in batch."""
        History = self.env["crm.lead.stage.history"]
        now = self.env.cr.now()
        stage_rules = self.env["crm.stage"]._get_process_rules()["stages"]

        def is_won(stage_id):
            return bool((stage_rules.get(stage_id) or {}).get("is_won"))

        closing = {}  # lead id: (exit type, SLA result, hours on hold not yet counted)
        opening = defaultdict(list)  # entry type: lead ids
        reset, recompute, holds_started, holds_ended, owner_changed = [], [], [], [], []
        for lead_id, new in self._sla_get_state().items():
            old = before[lead_id]
            was_open, is_open = old["active"] and old["stage_id"], new["active"] and new["stage_id"]
            moved = old["stage_id"] != new["stage_id"]
            if was_open and (moved or not new["active"]):
                if not new["active"]:
                    exit_type = "lost"
                elif is_won(new["stage_id"]) and not is_won(old["stage_id"]):
                    exit_type = "won"
                elif old["team_id"] != new["team_id"]:
                    exit_type = "transferred"  # to another pipeline
                else:
                    exit_type = "move"
                closing[lead_id] = (exit_type, self._sla_result(old, now), self._sla_hold_hours(old, now))
            if is_open and (moved or not old["active"]):
                opening["move" if old["active"] else "restore"].append(lead_id)
                reset.append(lead_id)
                continue
            if was_open and not is_open:
                recompute.append(lead_id)
                continue
            if not is_open:
                continue
            hold_changed = old["hold_until"] != new["hold_until"]
            if hold_changed or old["team_id"] != new["team_id"]:
                recompute.append(lead_id)
            if hold_changed and new["hold_until"] and not old["hold_until"]:
                holds_started.append(lead_id)
            elif hold_changed and not new["hold_until"]:
                holds_ended.append(lead_id)
            if old["user_id"] != new["user_id"] or old["team_id"] != new["team_id"]:
                owner_changed.append(lead_id)

        if holds_ended:
            # the hold ends: the reason goes with it (kept in the chatter and the history)
            self.browse(holds_ended).with_context(sla_internal=True).filtered("sla_hold_reason").write(
                {"sla_hold_reason": False})
        if reset:
            self.browse(reset)._sla_recompute(reset=True)
        if recompute:
            self.browse(recompute)._sla_recompute(sync=False)
        # the stays that end and start: one statement
        History._write_stays(closing, {entry_type: self.browse(ids) for entry_type, ids in opening.items()})
        # the stays that go on: new deadline, owner, holds
        going_on = self.browse(
            [lead_id for lead_id in dict.fromkeys(recompute + owner_changed) if lead_id not in closing])
        if going_on:
            History._sync_open_stays(going_on, owner=bool(owner_changed))
        if holds_started:
            History._record_holds_started(self.browse(holds_started))
        if holds_ended:
            History._record_holds_ended({lead_id: before[lead_id] for lead_id in holds_ended})

    @api.model
    def _sla_result(self, old, now):
        """Whether the stay that ends met its SLA: "missed" when its clock (stopped by a hold)
        passed its deadline."""
        if not old["deadline"]:
            return False
        clock_stop = old["hold_start"] if old["hold_until"] and old["hold_start"] else now
        return "missed" if clock_stop >= old["deadline"] else "met"

    @api.model
    def _sla_hold_hours(self, old, now):
        """Hours on hold of the stay that ends, not yet counted in its history row."""
        if old["hold_until"] and old["hold_start"]:
            return max((now - old["hold_start"]).total_seconds() / 3600, 0.0)
        return 0.0

    def _merge_dependences(self, opportunities):
        """Merged leads' history goes to the lead they are merged into, as their messages do."""
        res = super()._merge_dependences(opportunities)
        self.env["crm.lead.stage.history"]._merge_stays(self, opportunities)
        return res

    def _sla_activities_changed(self):
        """Planned activities of the leads changed: leads in stages whose clock waits for planned
        activities get their deadline again."""
        stage_rules = self.env["crm.stage"]._get_process_rules()["stages"]
        leads = self.sudo().exists().filtered(
            lambda lead: lead.sla_state != "none"
            and ((stage_rules.get(lead.stage_id.id) or {}).get("sla") or {}).get("activity_aware"))
        leads._sla_recompute()

    # ------------------------------------------------------------
    # SLA: actions
    # ------------------------------------------------------------

    def action_view_stage_history(self):
        """The lead's stays in its stages (stat button of the form)."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("sales_process_stages.crm_lead_stage_history_action")
        action.update(
            name=_("Stage History of %(lead)s", lead=self.display_name),
            domain=[("lead_id", "=", self.id)],
            context={"create": False},
            view_mode="list,pivot,graph",
            views=[(False, "list"), (False, "pivot"), (False, "graph")],
        )
        return action

    def action_sla_hold(self):
        """Open the dialog putting the lead on hold: the dialog writes the date and the reason."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Put on Hold"),
            "res_model": "crm.lead",
            "res_id": self.id,
            "view_mode": "form",
            "views": [(self.env.ref("sales_process_stages.crm_lead_view_form_sla_hold").id, "form")],
            "target": "new",
        }

    def action_sla_hold_confirm(self):
        """Button of the hold dialog: the date and reason are saved (and checked) by then."""
        return {"type": "ir.actions.act_window_close"}

    def action_sla_resume(self):
        """End the hold now: the clock restarts."""
        self.filtered("sla_hold_until").write({"sla_hold_until": False, "sla_hold_reason": False})
        return True

    # ------------------------------------------------------------
    # SLA: scheduled sweep
    # ------------------------------------------------------------

    @api.model
    def _cron_sweep_sla(self, batch_size=10000, escalation_batch_size=200, time_limit=60, auto_commit=None):
        """Catch the passing of time: resume the holds that end, turn on track leads due soon and
        due soon leads overdue, escalate the overdue ones once per stay.

        Set-based and batched: each step locks at most ``batch_size`` leads whose state must
        change (``FOR UPDATE SKIP LOCKED``, so that two workers share the work), updates them and,
        out of tests, commits. After ``time_limit`` seconds it reports the work left with
        ``ir.cron._notify_progress``, and the scheduler runs it again at once; a second run resumes
        where the first stopped. An escalation is marked done in the statement that takes it from
        the queue, committed with the activity or message it sends: it is never sent twice.

        :param batch_size: leads per batch of state changes (0 skips them)
        :param escalation_batch_size: leads per batch of hold ends and escalations (0 skips them)
        :param time_limit: seconds after which the run stops and reports the work left, below the
            workers' real time limit (``limit_time_real``, 120 s by default)
        :param auto_commit: commit each batch; default: out of tests
        :return: number of leads processed
        """
        if auto_commit is None:
            auto_commit = not getattr(threading.current_thread(), "testing", False)
        stop_at = time.monotonic() + time_limit
        Lead = self.sudo().with_context(mail_notify_force_send=False)
        steps = [
            (Lead._sla_sweep_resume_holds, escalation_batch_size),
            (Lead._sla_sweep_overdue, batch_size),
            (Lead._sla_sweep_due_soon, batch_size),
            (Lead._sla_sweep_escalate, escalation_batch_size),
            (Lead._sla_sweep_notify_leaders, escalation_batch_size),
        ]
        done = 0
        for step, limit in steps:
            while limit > 0:
                count = Lead._sla_sweep_batch(step, limit, auto_commit)
                done += count
                if count < limit:
                    break
                if time.monotonic() >= stop_at:
                    remaining = Lead._sla_sweep_remaining()
                    self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
                    return done
        self.env["ir.cron"]._notify_progress(done=done, remaining=0)
        return done

    def _sla_sweep_batch(self, step, limit, auto_commit):
        """Run one batch of a step, committed on its own out of tests. A batch that meets the
        batch of another worker on the same leads gives way and runs again on a fresh snapshot."""
        for __ in range(3):
            try:
                count = step(limit)
                if auto_commit:
                    self.env.cr.commit()  # pylint: disable=invalid-commit
                return count
            except (pg_errors.SerializationFailure, pg_errors.LockNotAvailable):
                if not auto_commit:
                    raise
                self.env.cr.rollback()
        return 0

    def _sla_sweep_locked_update(self, where, assignments, limit, order):
        """UPDATE at most ``limit`` leads matching ``where`` that no other transaction holds;
        :param where, assignments: SQL; :param order: column to take the oldest first
        :return: the ids updated"""
        self.env["crm.lead"].flush_model()
        self.env.cr.execute(SQL("""
            WITH todo AS (
                SELECT id FROM crm_lead
                 WHERE %(where)s
                 ORDER BY %(order)s
                 LIMIT %(limit)s
                   FOR UPDATE SKIP LOCKED
            )
            UPDATE crm_lead lead SET %(assignments)s
              FROM todo
             WHERE lead.id = todo.id
         RETURNING lead.id
        """, where=where, order=SQL.identifier(order), limit=limit, assignments=assignments), log_exceptions=False)
        ids = [row[0] for row in self.env.cr.fetchall()]
        if ids:
            self.env["crm.lead"].invalidate_model([
                "sla_state", "sla_priority", "sla_escalation_date", "sla_escalated_date",
                "sla_leader_date", "sla_leader_notified_date",
            ])
        return ids

    def _sla_sweep_overdue(self, limit):
        now = self.env.cr.now()
        return len(self._sla_sweep_locked_update(
            SQL("sla_state IN ('on_track', 'due_soon') AND sla_deadline <= %s", now),
            SQL("sla_state = 'overdue', sla_priority = %s", SLA_PRIORITY["overdue"]), limit, "sla_deadline"))

    def _sla_sweep_due_soon(self, limit):
        now = self.env.cr.now()
        return len(self._sla_sweep_locked_update(
            SQL("sla_state = 'on_track' AND sla_due_soon_date <= %s", now),
            SQL("sla_state = 'due_soon', sla_priority = %s", SLA_PRIORITY["due_soon"]), limit, "sla_due_soon_date"))

    def _sla_sweep_resume_holds(self, limit):
        self.env["crm.lead"].flush_model(["sla_resume_date"])
        self.env.cr.execute(SQL("""
            SELECT id FROM crm_lead
             WHERE sla_resume_date <= %s
             ORDER BY sla_resume_date
             LIMIT %s
               FOR UPDATE SKIP LOCKED
        """, self.env.cr.now(), limit), log_exceptions=False)
        leads = self.browse([row[0] for row in self.env.cr.fetchall()])
        leads.write({"sla_hold_until": False, "sla_hold_reason": False})
        return len(leads)

    def _sla_sweep_escalate(self, limit):
        """Schedule an activity for the salesperson (else the team leader) of leads that became overdue."""
        now = self.env.cr.now()
        ids = self._sla_sweep_locked_update(
            SQL("sla_escalation_date <= %s AND sla_state = 'overdue'", now),
            SQL("sla_escalation_date = NULL, sla_escalated_date = %s", now), limit, "sla_escalation_date")
        leads = self.browse(ids)
        if not leads:
            return 0
        stage_rules = self.env["crm.stage"]._get_process_rules()["stages"]
        default_type = self.env.ref("sales_process_stages.mail_activity_type_sla_overdue", raise_if_not_found=False)
        model_id = self.env["ir.model"]._get_id(self._name)
        activity_vals = []
        for lead in leads:
            user = lead.user_id or lead.team_id.user_id
            sla = stage_rules.get(lead.stage_id.id, {}).get("sla") or {}
            activity_type_id = sla.get("activity_type_id") or default_type.id
            if not user or not activity_type_id:
                continue
            activity_vals.append({
                "res_model_id": model_id, "res_id": lead.id, "activity_type_id": activity_type_id,
                "user_id": user.id, "date_deadline": fields.Date.context_today(lead.with_user(user)),
                "summary": _("Overdue in %(stage)s", stage=lead.stage_id.name),
                "note": escape(_("This lead was due in stage “%(stage)s” on %(deadline)s (UTC).",
                                 stage=lead.stage_id.name, deadline=lead.sla_deadline)),
            })
        if activity_vals:
            # in batch, as the checklist's activities: no assignment email per activity, the
            # activity (due today) shows at once in the salesperson's activities
            self.env["mail.activity"].with_context(sla_internal=True, mail_activity_quick_update=True).create(
                activity_vals)
        return len(leads)

    def _sla_sweep_notify_leaders(self, limit):
        """Notify the team leader of leads still overdue after the stage's further delay."""
        now = self.env.cr.now()
        ids = self._sla_sweep_locked_update(
            SQL("sla_leader_date <= %s AND sla_state = 'overdue'", now),
            SQL("sla_leader_date = NULL, sla_leader_notified_date = %s", now), limit, "sla_leader_date")
        leads = self.browse(ids)
        for lead in leads.filtered("team_id.user_id"):
            leader = lead.team_id.user_id
            lead.message_post(
                body=_("%(leader)s, this lead is overdue in stage “%(stage)s” since %(deadline)s (UTC); "
                       "salesperson: %(user)s.", leader=leader.name, stage=lead.stage_id.name,
                       deadline=lead.sla_deadline, user=lead.user_id.name or _("nobody")),
                partner_ids=leader.partner_id.ids, message_type="comment", subtype_xmlid="mail.mt_note")
        return len(leads)

    @api.model
    def _sla_sweep_remaining(self):
        """Leads the sweep has still to process (for the scheduler's progress)."""
        self.env.cr.execute("""
            SELECT (SELECT count(*) FROM crm_lead WHERE sla_resume_date <= %(now)s)
                 + (SELECT count(*) FROM crm_lead
                     WHERE sla_state IN ('on_track', 'due_soon') AND sla_deadline <= %(now)s)
                 + (SELECT count(*) FROM crm_lead
                     WHERE sla_state = 'on_track' AND sla_due_soon_date <= %(now)s AND sla_deadline > %(now)s)
                 + (SELECT count(*) FROM crm_lead WHERE sla_escalation_date <= %(now)s AND sla_state = 'overdue')
                 + (SELECT count(*) FROM crm_lead WHERE sla_leader_date <= %(now)s AND sla_state = 'overdue')
        """, {"now": self.env.cr.now()})
        return self.env.cr.fetchone()[0]

    # ------------------------------------------------------------
    # DEMO
    # ------------------------------------------------------------

    @api.model
    def _demo_play_pipeline(self, script):
        """Demo data only: walk demo leads through their pipeline by its rules, then date their
        history back (see ``tools/pipeline_demo.py``)."""
        pipeline_demo.play(self.env, script)
        return True


def clock_day_start(clock, day):
    """UTC instant when ``day`` starts on ``clock``'s time zone (False without a day)."""
    return clock.day_start(day) if day else False
