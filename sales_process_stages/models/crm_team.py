from odoo import api, fields, models


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
        return res

    @api.model
    def _get_move_policies(self):
        """{team_id: (allow_skip_stages, allow_move_back, won_from_stage_ids)} of the pipelines restricting moves,
        cached with the stage rules (see ``crm.stage._get_process_rules``)."""
        return self.env["crm.stage"]._get_process_rules()["teams"]
