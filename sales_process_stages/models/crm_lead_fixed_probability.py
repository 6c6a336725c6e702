"""Fixed probabilities: in pipelines set to fixed probabilities, a lead entering a stage gets
the stage's probability (forecast = expected revenue × probability); other pipelines keep Odoo's
predictive scoring untouched. Applied in the transition (see ``crm_lead.py``)."""

from collections import defaultdict

from odoo import models


class CrmLead(models.Model):
    _inherit = "crm.lead"

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
