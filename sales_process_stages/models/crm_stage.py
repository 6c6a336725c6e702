from odoo import _, api, fields, models, tools
from odoo.exceptions import ValidationError

UNSUPPORTED_REQUIRED_TYPES = ("one2many", "many2many", "binary", "json", "properties")


class CrmStage(models.Model):
    _inherit = "crm.stage"

    # Playbook: work to do in the stage
    checklist_item_ids = fields.One2many(
        "crm.stage.checklist.item", "stage_id", string="Checklist Items",
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

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        stages = super().create(vals_list)
        self.env.registry.clear_cache()
        return stages

    def write(self, vals):
        res = super().write(vals)
        if "required_field_ids" in vals:
            # the lead form marks these fields required: its cached arch changes too
            self.env.registry.clear_cache("default", "templates")
        else:
            self.env.registry.clear_cache()
        return res

    def unlink(self):
        res = super().unlink()
        self.env.registry.clear_cache()
        return res

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    @tools.ormcache()
    def _get_process_rules(self):
        """Rules of every stage, read once and cached until a stage or an item changes.

        :return: {'stages': {stage_id: {'sequence', 'is_won', 'team_id', 'fold', 'required_fields'
                  (tuple of field names), 'require_next_activity', 'item_ids', 'mandatory_item_ids'}},
                  'teams': {team_id: (allow_skip_stages, allow_move_back, won_from_stage_ids)} of the
                  teams restricting moves, 'fixed_probability_teams': ids of teams using fixed probabilities}
        """
        self = self.sudo().with_context(active_test=False)
        stages = self.search([])
        items = self.env["crm.stage.checklist.item"].search_fetch(
            [("stage_id", "in", stages.ids), ("active", "=", True)],
            ["stage_id", "is_mandatory"])
        rules = {}
        for stage in stages:
            rules[stage.id] = {
                "sequence": stage.sequence,
                "is_won": stage.is_won,
                "team_id": stage.team_id.id,
                "fold": stage.fold,
                "required_fields": tuple(stage.required_field_ids.mapped("name")),
                "require_next_activity": stage.require_next_activity,
                "fixed_probability": stage.fixed_probability,
                "item_ids": (),
                "mandatory_item_ids": (),
            }
        teams = self.env["crm.team"].search_fetch(
            ["|", "|", ("allow_skip_stages", "=", False), ("allow_move_back", "=", False),
             ("won_from_stage_ids", "!=", False)],
            ["allow_skip_stages", "allow_move_back", "won_from_stage_ids"])
        team_policies = {
            team.id: (team.allow_skip_stages, team.allow_move_back, tuple(team.won_from_stage_ids.ids))
            for team in teams
        }
        for item in items:
            stage_rules = rules[item.stage_id.id]
            stage_rules["item_ids"] += (item.id,)
            if item.is_mandatory:
                stage_rules["mandatory_item_ids"] += (item.id,)
        fixed_teams = frozenset(self.env["crm.team"].search([("probability_mode", "=", "fixed")]).ids)
        return {"stages": rules, "teams": team_policies, "fixed_probability_teams": fixed_teams}

    @api.model
    def _has_process_rules(self, stage_id):
        rules = self._get_process_rules()["stages"].get(stage_id)
        return bool(rules and (rules["required_fields"] or rules["require_next_activity"] or rules["item_ids"]))
