from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..tools.sla_clock import SlaClock


class CrmTeam(models.Model):
    _inherit = "crm.team"

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

    # SLA: working time of the pipeline
    resource_calendar_id = fields.Many2one(
        "resource.calendar", string="Working Hours",
        help="Stages whose SLA counts working time count the hours of this calendar, in its time zone "
        "(leave empty to use the company's working hours).")

    @api.model_create_multi
    def create(self, vals_list):
        teams = super().create(vals_list)
        if any(not vals.get("allow_skip_stages", True) or not vals.get("allow_move_back", True)
               or vals.get("won_from_stage_ids") or vals.get("probability_mode") == "fixed"
               for vals in vals_list):
            self.env.registry.clear_cache()
        return teams

    def write(self, vals):
        res = super().write(vals)
        if {"allow_skip_stages", "allow_move_back", "won_from_stage_ids", "probability_mode", "active"} & set(vals):
            self.env.registry.clear_cache()
        if "resource_calendar_id" in vals:
            self._sla_recompute_open_leads()
        return res

    @api.model
    def _get_move_policies(self):
        """{team_id: (allow_skip_stages, allow_move_back, won_from_stage_ids)} of the pipelines restricting moves,
        cached with the stage rules (see ``crm.stage._get_process_rules``)."""
        return self.env["crm.stage"]._get_process_rules()["teams"]

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
