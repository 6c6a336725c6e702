"""Fixed probabilities: in pipelines set to fixed probabilities, a lead entering a stage gets
the stage's probability (forecast = expected revenue × probability); other pipelines keep Odoo's
predictive scoring untouched. Applied in the transition (see ``crm_lead.py``)."""

from collections import defaultdict

from odoo import _, api, fields, models
from odoo.exceptions import UserError


class CrmLead(models.Model):
    _inherit = "crm.lead"

    is_fixed_probability = fields.Boolean(
        "Fixed Probability", compute="_compute_is_fixed_probability",
        help="The lead's pipeline gives each stage a fixed probability: Odoo's predicted one is not used.")

    @api.depends("team_id")
    def _compute_is_fixed_probability(self):
        fixed_teams = self.env["crm.stage"]._get_process_rules()["fixed_probability_teams"]
        for lead in self:
            lead.is_fixed_probability = lead.team_id.id in fixed_teams

    def action_set_automated_probability(self):
        """Odoo's predicted probability is no choice where the pipeline fixes each stage's."""
        fixed = self.filtered("is_fixed_probability")
        if fixed:
            raise UserError(_(
                "Pipeline “%(team)s” uses a fixed probability per stage: the stage gives the lead its probability.",
                team=fixed[0].team_id.name))
        return super().action_set_automated_probability()

    def _get_fixed_probabilities(self, transitions):
        """:return: {probability: [lead id]} of the leads entering a stage with a fixed probability
            (unless the write or create gives a probability itself)"""
        rules = self.env["crm.stage"]._get_process_rules()
        if not rules["fixed_probability_teams"]:
            return {}
        by_probability = defaultdict(list)
        for transition in transitions:
            stage = rules["stages"].get(transition.new_stage_id)
            if transition.enters_stay and "probability" not in transition.vals and stage and not stage["is_won"] \
                    and transition.new_team_id in rules["fixed_probability_teams"]:
                by_probability[stage["fixed_probability"]].append(transition.lead.id)
        return by_probability

    def _prepare_stage_transition_vals(self, transitions, vals):
        vals = super()._prepare_stage_transition_vals(transitions, vals)
        by_probability = self._get_fixed_probabilities(transitions)
        if len(by_probability) == 1 and len(next(iter(by_probability.values()))) == len(self):
            # every lead enters a stage with one fixed probability: set in the same write
            vals = {**vals, "probability": next(iter(by_probability))}
        return vals

    def _apply_stage_transitions(self, transitions):
        res = super()._apply_stage_transitions(transitions)
        for probability, lead_ids in self._get_fixed_probabilities(transitions).items():
            leads = self.browse(lead_ids).filtered(lambda lead, value=probability: lead.probability != value)
            if leads:
                leads.write({"probability": probability})
        return res
