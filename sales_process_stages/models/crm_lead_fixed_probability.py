"""Fixed probabilities: in pipelines set to fixed probabilities, a lead entering a stage gets
the stage's probability (forecast = expected revenue × probability); other pipelines keep Odoo's
predictive scoring untouched. Applied in the transition (see ``crm_lead.py``)."""

from collections import defaultdict

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import float_compare, float_repr


class CrmLead(models.Model):
    _inherit = "crm.lead"

    is_fixed_probability = fields.Boolean(
        "Fixed Probability", compute="_compute_is_fixed_probability",
        help="The lead's pipeline gives each stage a fixed probability: Odoo's predicted one is not used.")

    @api.depends("team_id")
    def _compute_is_fixed_probability(self):
        fixed_teams = self.env["crm.stage"]._get_process_rules().fixed_probability_teams
        for lead in self:
            lead.is_fixed_probability = lead.team_id.id in fixed_teams

    @api.model_create_multi
    def create(self, vals_list):
        leads = super().create(vals_list)
        if not self.env.su:
            given = [lead for lead, vals in zip(leads, vals_list, strict=True) if "probability" in vals]
            if given:
                self.browse([lead.id for lead in given])._check_fixed_probability(
                    {lead.id: lead.probability for lead in given})
        return leads

    def write(self, vals):
        if "probability" in vals and not self.env.su:
            self._check_fixed_probability({lead.id: vals["probability"] for lead in self}, vals)
        return super().write(vals)

    def _compute_probabilities(self):
        """Odoo's scoring keeps its automated probability; the probability of a lead of a pipeline
        fixing them is its stage's, also while the form is being edited (a stage picked there)."""
        super()._compute_probabilities()
        rules = self.env["crm.stage"]._get_process_rules()
        if not rules.fixed_probability_teams:
            return
        for lead in self:
            expected = lead._get_process_probability(rules, lead.team_id.id, lead.stage_id.id, lead.active)
            if expected is not None and lead.probability != expected:
                lead.probability = expected

    @api.model
    def _get_process_probability(self, rules, team_id, stage_id, active):
        """The probability the process gives a lead of pipeline ``team_id`` in ``stage_id``: None
        where the pipeline does not fix them; 0 lost, 100 won, else the stage's (``rules``: the
        process rules, ``crm.stage._get_process_rules``)."""
        if team_id not in rules.fixed_probability_teams:
            return None
        if not active:
            return 0.0
        stage = rules.stages.get(stage_id)
        if not stage:
            return None
        return 100.0 if stage.is_won else stage.fixed_probability

    def _check_fixed_probability(self, probabilities, vals=None):
        """In pipelines fixing the probability per stage, the stage gives it: a client's other value
        is refused (the call queue, the daily review and the forecast read it).

        :param probabilities: {lead id: the probability given}
        :param vals: the values written with it (the stage, pipeline and outcome the leads end up in)
        """
        rules = self.env["crm.stage"]._get_process_rules()
        if not rules.fixed_probability_teams:
            return
        vals = vals or {}
        for lead in self:
            team_id = (vals["team_id"] or False) if "team_id" in vals else lead.team_id.id
            stage_id = (vals["stage_id"] or False) if "stage_id" in vals else lead.stage_id.id
            active = bool(vals["active"]) if "active" in vals else lead.active
            expected = self._get_process_probability(rules, team_id, stage_id, active)
            if expected is not None and float_compare(probabilities[lead.id] or 0.0, expected, precision_digits=2):
                raise ValidationError(_(
                    "Pipeline “%(team)s” gives each stage its win probability: “%(lead)s” has %(probability)s %% "
                    "in stage “%(stage)s”.", team=self.env["crm.team"].browse(team_id).name,
                    lead=lead.display_name, probability=float_repr(expected, 2).rstrip("0").rstrip("."),
                    stage=self.env["crm.stage"].browse(stage_id).display_name))

    def action_set_automated_probability(self):
        """Odoo's predicted probability is no choice where the pipeline fixes each stage's."""
        fixed = self.filtered("is_fixed_probability")
        if fixed:
            raise ValidationError(_(
                "Pipeline “%(team)s” uses a fixed probability per stage: the stage gives the lead its probability.",
                team=fixed[0].team_id.name))
        return super().action_set_automated_probability()

    def _get_fixed_probabilities(self, transitions):
        """:return: {probability: [lead id]} of the leads entering a stage with a fixed probability
            (unless the write or create gives a probability itself)"""
        rules = self.env["crm.stage"]._get_process_rules()
        if not rules.fixed_probability_teams:
            return {}
        by_probability = defaultdict(list)
        for transition in transitions:
            stage = rules.stages.get(transition.new_stage_id)
            if transition.enters_stay and "probability" not in transition.vals and stage and not stage.is_won \
                    and transition.new_team_id in rules.fixed_probability_teams:
                by_probability[stage.fixed_probability].append(transition.lead.id)
        return by_probability

    def _prepare_stage_transition_vals(self, transitions, vals):
        vals = super()._prepare_stage_transition_vals(transitions, vals)
        by_probability = self._get_fixed_probabilities(transitions)
        if len(by_probability) == 1 and len(next(iter(by_probability.values()))) == len(self):
            # every lead enters a stage with one fixed probability: set in the same write
            vals = {**vals, "probability": next(iter(by_probability))}
        return vals

    def _apply_transition_fixed_probability(self, transitions):
        for probability, lead_ids in self._get_fixed_probabilities(transitions).items():
            leads = self.browse(lead_ids).filtered(lambda lead, value=probability: lead.probability != value)
            if leads:
                leads.write({"probability": probability})
