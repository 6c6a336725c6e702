from collections import defaultdict
from types import MappingProxyType

from odoo import _, api, fields, models, tools
from odoo.exceptions import ValidationError

from ..tools import bounds
from ..tools.process_rules import ProcessRules, SlaRule, StageRules, TeamPolicy

UNSUPPORTED_REQUIRED_TYPES = ("one2many", "many2many", "binary", "json", "properties")
# units of the SLA's durations (budget, due soon "before", leader delay): minutes for "contact within
# 10 minutes" stages, hours, days (see ``crm.lead._sla_hours``)
SLA_UNITS = [("minutes", "Minutes"), ("hours", "Hours"), ("days", "Days")]
# stage settings that change the deadlines of the leads in the stage
SLA_RECOMPUTE_FIELDS = {
    "sla_enabled", "sla_duration", "sla_duration_unit", "sla_time_basis", "sla_due_soon_type",
    "sla_due_soon_percent", "sla_due_soon_before", "sla_due_soon_before_unit", "sla_activity_aware",
    "sla_escalate", "sla_notify_leader", "sla_leader_delay", "sla_leader_delay_unit", "is_won",
}


def sla_duration_hours(value, unit, hours_per_day):
    """Hours of a duration of the SLA: ``value`` in ``unit`` (``SLA_UNITS``); a day is
    ``hours_per_day`` hours (24 in calendar time, the calendar's day of work in working time)."""
    if unit == "minutes":
        return value / 60.0
    if unit == "days":
        return value * hours_per_day
    return value


class CrmStage(models.Model):
    _name = "crm.stage"
    _inherit = ["crm.stage", "sales.process.cache.mixin"]

    # Playbook: work to do in the stage
    checklist_item_ids = fields.One2many(
        "crm.stage.checklist.item", "stage_id", string="Checklist Items", copy=True,
        help="Work to do in this stage. Entering the stage gives the lead these items and schedules "
        "an activity for each responsible. Open mandatory items block leaving the stage forward.")
    # Playbook: data needed to enter the stage
    required_field_ids = fields.Many2many(
        "ir.model.fields", "crm_stage_required_field_rel", "stage_id", "field_id",
        string="Required to Enter",
        domain="[('model', '=', 'crm.lead'), ('store', '=', True), ('readonly', '=', False),"
        " ('ttype', 'not in', ('one2many', 'many2many', 'binary', 'json', 'properties'))]",
        help="Fields of the lead that must be filled in before the lead may enter this stage. "
        "Zero, empty and unset count as missing; an amount must be above zero.")
    # Forecast: fixed probability in pipelines set to "fixed probabilities"
    fixed_probability = fields.Float(
        "Fixed Probability (%)", aggregator=False,
        help="In a pipeline using fixed probabilities, a lead entering this stage gets this win probability "
        "(the forecast is expected revenue × probability).")
    require_next_activity = fields.Boolean(
        "Requires a Planned Activity",
        help="A lead may only enter this stage with a next activity planned (due today or later).")

    # SLA: time budget of a stay in the stage (see crm.lead, "SLA")
    sla_enabled = fields.Boolean(
        "Time Budget (SLA)",
        help="Give leads a time budget in this stage: a deadline, a traffic light on the cards, "
        "escalations when they are late.")
    sla_duration = fields.Float(
        "SLA Duration", default=1.0,
        help="Time a lead may stay in the stage before it is overdue.")
    sla_duration_unit = fields.Selection(
        SLA_UNITS, string="SLA Unit", required=True, default="days",
        help="Minutes and hours are counted as the SLA is (working or calendar time); a day is 24 hours in "
        "calendar time and the working calendar's hours per day in working time.")
    sla_time_basis = fields.Selection(
        [("calendar", "Calendar time"), ("working", "Working time")],
        string="Counted In", required=True, default="calendar",
        help="Calendar time counts every hour. Working time counts the working hours of the sales "
        "team's working calendar (else the company's), in that calendar's time zone, leaves "
        "excluded; a day of working time is the calendar's average hours per day.")
    sla_due_soon_type = fields.Selection(
        [("percent", "Share of the SLA used"), ("before", "Time before the deadline")],
        string="Due Soon", required=True, default="percent")
    sla_due_soon_percent = fields.Float(
        "Due Soon At (%)", default=80.0,
        help="The lead turns yellow once this share of its time budget is used.")
    sla_due_soon_before = fields.Float(
        "Due Soon Before", default=4.0, help="The lead turns yellow this long before its deadline.")
    sla_due_soon_before_unit = fields.Selection(
        SLA_UNITS, string="Due Soon Unit", required=True, default="hours")
    sla_activity_aware = fields.Boolean(
        "Planned Activities Extend the SLA",
        help="A lead with an activity planned for later is not overdue before that activity's "
        "date has passed: the next step is scheduled, the deal is not rotting.")
    sla_escalate = fields.Boolean(
        "Schedule an Activity When Overdue",
        help="When a lead becomes overdue, schedule an activity for its salesperson "
        "(once per stay in the stage).")
    sla_escalation_activity_type_id = fields.Many2one(
        "mail.activity.type", string="Escalation Activity", ondelete="set null",
        default=lambda self: self.env.ref(
            "sales_process_stages.mail_activity_type_sla_overdue", raise_if_not_found=False),
        domain="[('res_model', 'in', (False, 'crm.lead'))]")
    sla_notify_leader = fields.Boolean(
        "Notify the Team Leader",
        help="When a lead is still overdue after a further delay, notify the leader of its sales team "
        "(once per stay in the stage).")
    sla_leader_delay = fields.Float(
        "Notify Leader After", default=1.0, help="Delay after the deadline, counted as the SLA is.")
    sla_leader_delay_unit = fields.Selection(
        SLA_UNITS, string="Leader Delay Unit", required=True, default="days")

    # The email of the stage (as project.task.type's): sent at once when a lead reaches the stage
    mail_template_id = fields.Many2one(
        "mail.template", string="Email Template", domain=[("model", "=", "crm.lead")], index="btree_not_null",
        help="If set, this email is sent to the customer, from the salesperson, the first time a lead reaches "
        "this stage (for example a welcome email in the won stage). It is posted in the lead's chatter.")

    # Automations: Odoo's automation rules of the leads that fire for this stage
    automation_count = fields.Integer(
        "Automations", compute="_compute_automation_count", groups="base.group_system",
        help="Automation rules of the leads that fire for this stage: \"stage is set to\" this stage, or a "
        "rule whose filter names this stage (or, naming no stage, this stage's pipeline).")

    def _compute_automation_count(self):
        rules = self.env["base.automation"].search([("model_name", "=", "crm.lead")])
        scopes = rules._get_crm_stage_scope()
        for stage in self:
            stage.automation_count = len(rules._filter_fires_for_crm_stage(stage, scopes))

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    _sql_constraints = [
        ("fixed_probability_range", "CHECK(fixed_probability >= 0 AND fixed_probability <= 100)",
         "A stage's fixed probability is a percentage between 0 and 100."),
    ]

    @api.constrains("required_field_ids")
    def _check_required_field_ids(self):
        for stage in self:
            for field in stage.required_field_ids:
                lead_field = self.env["crm.lead"]._fields.get(field.name)
                if (
                    field.model != "crm.lead" or not lead_field or not lead_field.store
                    or lead_field.readonly or lead_field.type in UNSUPPORTED_REQUIRED_TYPES
                ):
                    raise ValidationError(_(
                        "Stage “%(stage)s” cannot require “%(field)s”: only stored fields of the lead "
                        "that users can fill in can be required to enter a stage.",
                        stage=stage.name, field=field.field_description))

    @api.constrains(
        "sla_enabled", "sla_duration", "sla_duration_unit", "sla_time_basis", "sla_due_soon_type",
        "sla_due_soon_percent", "sla_due_soon_before", "sla_due_soon_before_unit", "sla_notify_leader",
        "sla_leader_delay", "sla_leader_delay_unit", "team_id")
    def _check_sla(self):
        for stage in self.filtered("sla_enabled"):
            if stage.sla_duration <= 0:
                raise ValidationError(_(
                    "The SLA of stage “%(stage)s” must be a duration above zero.", stage=stage.name))
            stage._check_sla_bounds()
            if stage.sla_due_soon_type == "percent" and not 0 < stage.sla_due_soon_percent <= 100:
                raise ValidationError(_(
                    "The “due soon” threshold of stage “%(stage)s” is a share of the SLA: between 0 and "
                    "100 %%, not %(percent)s %%.", stage=stage.name, percent=stage.sla_due_soon_percent))
            if stage.sla_due_soon_type == "before":
                hours_per_day = 24.0 if stage.sla_time_basis == "calendar" else (
                    stage._get_sla_calendars()[:1].hours_per_day or 8.0)
                before = sla_duration_hours(stage.sla_due_soon_before, stage.sla_due_soon_before_unit, hours_per_day)
                budget = sla_duration_hours(stage.sla_duration, stage.sla_duration_unit, hours_per_day)
                if stage.sla_due_soon_before <= 0 or before >= budget:
                    raise ValidationError(_(
                        "The “due soon” warning of stage “%(stage)s” must come a positive time before the "
                        "deadline, and after the lead entered the stage (less than the SLA).", stage=stage.name))
            if stage.sla_notify_leader and stage.sla_leader_delay <= 0:
                raise ValidationError(_(
                    "The delay before notifying the team leader in stage “%(stage)s” must be above zero.",
                    stage=stage.name))
            if stage.sla_time_basis == "working":
                calendars = stage._get_sla_calendars()
                if not calendars:
                    raise ValidationError(_(
                        "Stage “%(stage)s” counts its SLA in working time, but neither its sales team nor "
                        "the company has a working calendar.", stage=stage.name))
                self.env["crm.team"]._check_sla_working_time(calendars)

    def _check_sla_bounds(self):
        """The SLA's durations are at most ``bounds.SLA_DURATION_MAX_DAYS`` days, in their unit."""
        self.ensure_one()
        units = dict(self._fields["sla_duration_unit"]._description_selection(self.env))
        durations = [("sla_duration", "sla_duration_unit")]
        if self.sla_due_soon_type == "before":
            durations.append(("sla_due_soon_before", "sla_due_soon_before_unit"))
        if self.sla_notify_leader:
            durations.append(("sla_leader_delay", "sla_leader_delay_unit"))
        for name, unit_name in durations:
            label = _("%(field)s of stage “%(stage)s”", field=self._fields[name]._description_string(self.env),
                      stage=self.name)
            bounds.check_duration(self.env, self[name], self[unit_name], label, bounds.SLA_DURATION_MAX_DAYS,
                                  units[self[unit_name]])

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    def write(self, vals):
        res = super().write(vals)
        if SLA_RECOMPUTE_FIELDS & set(vals):
            self._sla_recompute_open_leads()
        if "is_won" in vals:
            # the stage's opportunities start or stop counting as won: their customers' status follows
            customers = self.env["crm.lead"].sudo().with_context(active_test=False)._read_group(
                [("stage_id", "in", self.ids), ("partner_id", "!=", False)], ["partner_id"])
            self.env["res.partner"]._customer_status_update([partner.id for partner, in customers])
        return res

    def copy(self, default=None):
        """The copies' checklist items wait for (and send the lead back to) the copies of the items
        the originals wait for (and send back to)."""
        copies = super().copy(default)
        for stage, stage_copy in zip(self, copies, strict=True):
            items, item_copies = stage.checklist_item_ids, stage_copy.checklist_item_ids
            if len(items) != len(item_copies) or not (items.depends_on_ids or items.send_back_item_id):
                continue
            copy_of = dict(zip(items, item_copies, strict=True))
            for item in items.filtered("depends_on_ids"):
                copy_of[item].depends_on_ids = [(6, 0, [copy_of[other].id for other in item.depends_on_ids
                                                        if other in copy_of])]
            for item in items.filtered("send_back_item_id"):
                if item.send_back_item_id in copy_of:
                    copy_of[item].send_back_item_id = copy_of[item.send_back_item_id]
        return copies

    def _sales_process_cache_names(self, vals=None):
        """Every stage setting is in the process rules; the fields a stage requires are also
        marked required in the lead form, whose arch Odoo caches."""
        if vals is not None and "required_field_ids" in vals:
            return ("default", "templates")
        return ("default",)

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    @tools.ormcache()
    def _get_process_rules(self):
        """Rules of every stage, read once and cached until a stage, an item or a team changes
        (``sales.process.cache.mixin``). The value is shared by every request: it is immutable
        (frozen dataclasses, tuples, frozensets, read-only mappings: ``tools/process_rules.py``).

        :return: a ``ProcessRules``: ``stages`` {stage id: ``StageRules``} of every stage (sequence,
            is_won, team_id, fold, required_fields, require_next_activity, fixed_probability,
            item_ids, mandatory_item_ids, and sla: None or the time budget, see ``_get_sla_rule``),
            read through ``rules.stage(stage_id)`` (``NO_STAGE_RULES`` for no stage or an unknown
            one); ``teams`` {team id: ``TeamPolicy``} of the teams restricting moves; the ids of
            the teams using fixed probabilities (``fixed_probability_teams``), their own stages
            only (``own_stages_teams``), requiring a lost reason (``lost_reason_teams``), locking
            their won deals (``won_locked_teams``); ``process_teams``, the pipelines someone
            configured (a policy, or a stage of their own with rules): where the pipeline
            invariants of ``crm_lead_pipeline.py`` hold; ``item_prerequisites`` {item id: ids of
            the active items it waits for}, ``item_followers`` {item id: ids of the active items
            waiting for it}; ``sla_escalation_type_ids``, the activity types of the SLA's escalations
        """
        self = self.sudo().with_context(active_test=False)
        stages = self.search([])
        items = self.env["crm.stage.checklist.item"].search_fetch(
            [("stage_id", "in", stages.ids), ("active", "=", True)],
            ["stage_id", "is_mandatory", "depends_on_ids"])
        teams = self.env["crm.team"].search_fetch(
            ["|", "|", ("allow_skip_stages", "=", False), ("allow_move_back", "=", False),
             ("won_from_stage_ids", "!=", False)],
            ["allow_skip_stages", "allow_move_back", "won_from_stage_ids"])
        team_policies = {
            team.id: TeamPolicy(team.allow_skip_stages, team.allow_move_back, tuple(team.won_from_stage_ids.ids))
            for team in teams
        }
        active_item_ids = set(items.ids)
        stage_item_ids = defaultdict(list)  # stage id: ids of its active items
        stage_mandatory_ids = defaultdict(list)  # stage id: ids of its active mandatory items
        prerequisites = {}  # item id: ids of the active items it waits for
        followers = {}  # item id: ids of the active items waiting for it
        for item in items:
            stage_item_ids[item.stage_id.id].append(item.id)
            if item.is_mandatory:
                stage_mandatory_ids[item.stage_id.id].append(item.id)
            waited = tuple(item_id for item_id in item.depends_on_ids.ids if item_id in active_item_ids)
            if waited:
                prerequisites[item.id] = waited
                for item_id in waited:
                    followers[item_id] = (*followers.get(item_id, ()), item.id)
        rules = {
            stage.id: StageRules(
                sequence=stage.sequence,
                is_won=stage.is_won,
                team_id=stage.team_id.id,
                fold=stage.fold,
                required_fields=tuple(stage.required_field_ids.mapped("name")),
                require_next_activity=stage.require_next_activity,
                fixed_probability=stage.fixed_probability,
                item_ids=tuple(stage_item_ids.get(stage.id, ())),
                mandatory_item_ids=tuple(stage_mandatory_ids.get(stage.id, ())),
                sla=stage._get_sla_rule() if stage.sla_enabled else None,
            ) for stage in stages
        }
        fixed_teams = frozenset(self.env["crm.team"].search([("probability_mode", "=", "fixed")]).ids)
        own_stages_teams = frozenset(self.env["crm.team"].search([("own_stages_only", "=", True)]).ids)
        lost_reason_teams = frozenset(self.env["crm.team"].search([("lost_reason_required", "=", True)]).ids)
        won_locked_teams = frozenset(self.env["crm.team"].search([("lock_won_leads", "=", True)]).ids)
        # pipelines someone configured: a policy of the team, or a stage of its own with rules
        # (pipelines nobody configured behave as in plain Odoo, see crm_lead_pipeline.py)
        process_teams = set(team_policies) | fixed_teams | own_stages_teams | lost_reason_teams | won_locked_teams
        process_teams.update(
            rule.team_id for rule in rules.values()
            if rule.team_id and (rule.required_fields or rule.require_next_activity or rule.item_ids or rule.sla))
        escalation_type_ids = {rule.sla.activity_type_id for rule in rules.values() if rule.sla}
        escalation_type_ids.add(self.env["ir.model.data"]._xmlid_to_res_id(
            "sales_process_stages.mail_activity_type_sla_overdue", raise_if_not_found=False))
        escalation_type_ids.discard(False)
        return ProcessRules(
            stages=MappingProxyType(rules),
            teams=MappingProxyType(team_policies),
            fixed_probability_teams=fixed_teams,
            own_stages_teams=own_stages_teams,
            lost_reason_teams=lost_reason_teams,
            won_locked_teams=won_locked_teams,
            process_teams=frozenset(process_teams),
            item_prerequisites=MappingProxyType(prerequisites),
            item_followers=MappingProxyType(followers),
            sla_escalation_type_ids=frozenset(escalation_type_ids),
        )

    @api.model
    def _get_sla_escalation_type_ids(self):
        """Activity types of the SLA's escalations (none is a planned next step)."""
        return self._get_process_rules().sla_escalation_type_ids

    # ------------------------------------------------------------
    # SLA
    # ------------------------------------------------------------

    def _get_sla_rule(self):
        """Time budget of the stage (an ``SlaRule``), as the SLA computations read it from the
        cached rules.

        Durations are (value, unit) pairs: minutes and hours are counted as they are, days are 24
        hours in calendar time and the calendar's hours per day in working time
        (``sla_duration_hours``, through ``crm.lead._sla_hours``)."""
        self.ensure_one()
        return SlaRule(
            duration=(self.sla_duration, self.sla_duration_unit),
            working=self.sla_time_basis == "working",
            due_soon_percent=self.sla_due_soon_percent if self.sla_due_soon_type == "percent" else None,
            due_soon_before=(self.sla_due_soon_before, self.sla_due_soon_before_unit)
            if self.sla_due_soon_type == "before" else None,
            activity_aware=self.sla_activity_aware,
            escalate=self.sla_escalate,
            activity_type_id=self.sla_escalation_activity_type_id.id,
            notify_leader=self.sla_notify_leader,
            leader_delay=(self.sla_leader_delay, self.sla_leader_delay_unit),
        )

    def _get_sla_calendars(self):
        """Working calendars the SLA of the stage is counted in: its team's (else the company's),
        or for a stage shared by every pipeline, those of every team (else the company's)."""
        self.ensure_one()
        company_calendar = self.env.company.resource_calendar_id
        teams = self.team_id or self.env["crm.team"].search([])
        calendars = self.env["resource.calendar"]
        for team in teams:
            calendars |= team.resource_calendar_id or team.company_id.resource_calendar_id or company_calendar
        return calendars or company_calendar

    def _sla_recompute_open_leads(self):
        """The budget of these stages changed: recompute the SLA of their open leads, keeping
        when each lead's clock started."""
        self.env["crm.lead"]._sla_recompute_search([("stage_id", "in", self.ids)])

    # ------------------------------------------------------------
    # AUTOMATIONS
    # ------------------------------------------------------------

    def _get_automations(self):
        """Automation rules of the leads (active ones) that fire for this stage."""
        self.ensure_one()
        rules = self.env["base.automation"].search([("model_name", "=", "crm.lead")])
        return rules._filter_fires_for_crm_stage(self)

    def _get_automation_defaults(self):
        """Context of a new rule for this stage: on the leads, "stage is set to" this stage."""
        self.ensure_one()
        return {
            "default_model_id": self.env["ir.model"]._get_id("crm.lead"),
            "default_trigger": "on_stage_set",
            "default_trg_field_ref": self.id,
        }

    def action_open_automations(self):
        """The stage's automation rules; a new one made here fires when a lead enters the stage."""
        self.ensure_one()
        rules = self._get_automations()
        return {
            "type": "ir.actions.act_window",
            "name": _("Automations: %(stage)s", stage=self.name),
            "res_model": "base.automation",
            "views": [
                (self.env.ref("base_automation.view_base_automation_kanban").id, "kanban"),
                (self.env.ref("sales_process_stages.base_automation_view_tree_crm_stage").id, "list"),
                (False, "form"),
            ],
            # the rules found now, and those made here later ("stage is set to" this stage)
            "domain": [
                ("model_name", "=", "crm.lead"), "|", ("id", "in", rules.ids),
                "&", ("trigger", "=", "on_stage_set"), ("trg_field_ref", "=", self.id),
            ],
            "context": self._get_automation_defaults(),
        }

    def action_create_automation(self):
        """A new automation rule for this stage: on the leads, "stage is set to" this stage."""
        self.ensure_one()
        self.env["base.automation"].check_access("create")
        return {
            "type": "ir.actions.act_window",
            "name": _("New Automation: %(stage)s", stage=self.name),
            "res_model": "base.automation",
            "views": [(False, "form")],
            "target": "current",
            "context": self._get_automation_defaults(),
        }
