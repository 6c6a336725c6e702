from datetime import datetime, time, timedelta

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..tools import bounds
from ..tools.sla_clock import SlaClock

# team settings the process rules hold (crm.stage._get_process_rules)
PROCESS_RULE_FIELDS = {"allow_skip_stages", "allow_move_back", "won_from_stage_ids", "probability_mode",
                       "own_stages_only", "lost_reason_required", "lock_won_leads", "active"}


class CrmTeam(models.Model):
    _name = "crm.team"
    _inherit = ["crm.team", "sales.process.cache.mixin"]

    # Stage moves policy of the pipeline
    allow_skip_stages = fields.Boolean(
        "Leads May Skip Stages", default=True,
        help="When unchecked, a lead moves forward one stage at a time (winning stays possible).")
    allow_move_back = fields.Boolean(
        "Leads May Move Back", default=True,
        help="When unchecked, a lead cannot go back to an earlier stage of the pipeline.")
    won_from_stage_ids = fields.Many2many(
        "crm.stage", "crm_team_won_from_stage_rel", "team_id", "stage_id", string="Won Only From",
        domain="[('is_won', '=', False), '|', ('team_id', '=', False), ('team_id', '=', id)]",
        help="Stages from which a lead of this pipeline may be won. Empty: from any stage.")
    lock_won_leads = fields.Boolean(
        "Lock Won Deals",
        help="A won deal of this pipeline is changed only by sales managers (reopened, lost, edited): the signed "
        "deal stays as it was signed. Messages and activities go on as usual.")
    # Forecast
    probability_mode = fields.Selection(
        [("scoring", "Predictive scoring"), ("fixed", "Fixed per stage")], string="Win Probability",
        required=True, default="scoring",
        help="Predictive scoring: Odoo computes the probability from past leads. Fixed per stage: a lead "
        "entering a stage gets the stage's fixed probability.")
    # Closing policy
    lost_reason_required = fields.Boolean(
        help="Every path that makes a lead of this pipeline lost needs a lost reason, with the details "
        "the reason asks for.")

    # Stages: a pipeline of its own
    own_stages_only = fields.Boolean(
        help="The pipeline uses only its own stages: stages shared by every pipeline are not columns of its "
        "board, nor the stage its new leads start in, nor steps of its leads' status bar.")
    # Templates: pipelines consultants copy ("New Pipeline from Template")
    is_pipeline_template = fields.Boolean(
        "Pipeline Template",
        help="Offered by “New Pipeline from Template”, which copies the pipeline's settings, stages, checklists, "
        "entry requirements, SLAs, probabilities and lost reasons into a new pipeline. An archived template "
        "is still offered.")

    # SLA: working time of the pipeline
    resource_calendar_id = fields.Many2one(
        "resource.calendar", string="Working Hours",
        help="Stages whose SLA counts working time count the hours of this calendar, in its time zone "
        "(leave empty to use the company's working hours).")

    # Calls: when to try again after "No Answer"
    call_retry_delay = fields.Integer(
        "Retry After", default=1,
        help="After “No Answer”, the next call attempt is planned this long after, in the pipeline's working "
        "time (1 day: the next working day).")
    call_retry_delay_unit = fields.Selection(
        [("hours", "Working Hours"), ("days", "Working Days")], string="Retry Unit", required=True,
        default="days")

    @api.constrains("call_retry_delay", "call_retry_delay_unit")
    def _check_call_retry_delay(self):
        units = dict(self._fields["call_retry_delay_unit"]._description_selection(self.env))
        for team in self:
            if team.call_retry_delay < 0:
                raise ValidationError(_(
                    "Pipeline “%(team)s”: the delay before the next call attempt cannot be negative.",
                    team=team.name))
            # at most a year (in the unit: working hours are counted as hours)
            label = _("Pipeline “%(team)s”: %(field)s", team=team.name,
                      field=self._fields["call_retry_delay"]._description_string(self.env))
            bounds.check_duration(self.env, team.call_retry_delay, team.call_retry_delay_unit, label,
                                  bounds.CALL_RETRY_MAX_DAYS, units[team.call_retry_delay_unit], allow_zero=True)

    def write(self, vals):
        res = super().write(vals)
        if "resource_calendar_id" in vals:
            self._sla_recompute_open_leads()
        return res

    def _sales_process_cache_names(self, vals=None):
        """The process rules hold the pipelines' move policies, probability mode and own stages
        (created, deleted or archived teams included)."""
        if vals is None or PROCESS_RULE_FIELDS & set(vals):
            return ("default",)
        return ()

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _copy_pipeline(self, default=None):
        """A new pipeline made from this one: the team's settings, copies of its own stages with their
        checklist items, entry requirements, SLAs and probabilities, and its lost reasons (shared, not
        copied: the pipelines of one kind report their losses alike). The copy is no template.

        :param default: values of the new team (name, team leader, company, ...)
        :return: the new crm.team
        """
        self.ensure_one()
        team = self.copy({
            "is_pipeline_template": False, "won_from_stage_ids": [(5, 0, 0)], "active": True,
            "favorite_user_ids": [(6, 0, self.env.user.ids)], **(default or {}),
        })
        # the stages' required fields are ir.model.fields, which sales managers may not read: the
        # copy, checked as theirs, runs as superuser
        self.env["crm.stage"].check_access("create")
        stages = self.env["crm.stage"].search([("team_id", "=", self.id)])
        copies = stages.sudo().copy({"team_id": team.id}).with_env(self.env)
        new_stages = dict(zip(stages.ids, copies, strict=True))
        if self.won_from_stage_ids:
            # the copies of the template's own stages, the shared stages as they are
            won_from = [new_stages.get(stage.id, stage).id for stage in self.won_from_stage_ids]
            team.won_from_stage_ids = [(6, 0, won_from)]
        reasons = self.env["crm.lost.reason"].with_context(active_test=False).search([("team_ids", "in", self.ids)])
        reasons.write({"team_ids": [(4, team.id)]})
        return team

    # ------------------------------------------------------------
    # SLA
    # ------------------------------------------------------------

    @api.constrains("resource_calendar_id")
    def _check_resource_calendar_id(self):
        self._check_sla_working_time(self.resource_calendar_id)

    @api.model
    def _check_sla_working_time(self, calendars):
        """Refuse working calendars an SLA could never be counted in."""
        now = fields.Datetime.now()
        for calendar in calendars:
            if calendar.flexible_hours or not SlaClock(calendar, working=True).has_working_time(now):
                raise ValidationError(_(
                    "The working calendar “%(calendar)s” has no working time: SLAs in working time cannot "
                    "be counted in it. Give it working hours or choose another calendar.",
                    calendar=calendar.name))

    def _sla_recompute_open_leads(self):
        """The working calendar of these teams changed: recompute the SLA of their open leads."""
        self.env["crm.lead"]._sla_recompute_search([("team_id", "in", self.ids), ("sla_state", "!=", "none")])

    # ------------------------------------------------------------
    # CALLS
    # ------------------------------------------------------------

    @api.model
    def _get_call_retry_day(self, calendar, now, delay, unit):
        """The day of the next call attempt ``delay`` working days (1: the next working day) or
        working hours after ``now`` (an aware UTC datetime) in ``calendar``; calendar time when
        the calendar has no working time then."""
        tz = pytz.timezone(calendar.tz or "UTC") if calendar else pytz.utc
        local_now = now.astimezone(tz)
        planned = False
        if calendar and not calendar.flexible_hours:
            if unit == "hours":
                planned = calendar.plan_hours(delay, local_now, compute_leaves=True) if delay else local_now
            elif delay:
                tomorrow = tz.localize(datetime.combine(local_now.date() + timedelta(days=1), time.min))
                planned = calendar.plan_days(delay, tomorrow, compute_leaves=True)
            else:
                planned = local_now
        if not planned:
            planned = local_now + (timedelta(hours=delay) if unit == "hours" else timedelta(days=delay))
        return planned.astimezone(tz).date()
