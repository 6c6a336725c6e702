from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.osv import expression


class CrmLostReason(models.Model):
    _inherit = "crm.lost.reason"

    company_id = fields.Many2one(
        "res.company", index=True,
        help="Leave empty to use the reason in every company.")
    team_ids = fields.Many2many(
        "crm.team", "crm_lost_reason_team_rel", "reason_id", "team_id", string="Pipelines",
        help="Pipelines offering this reason. Leave empty to offer it in every pipeline.")
    # details a lead lost for this reason must give
    requires_competitor = fields.Boolean(
        "Requires a Competitor", help="Name the competitor who won: a contact, or a name.")
    requires_note = fields.Boolean("Requires a Note", help="The closing note must say more.")
    required_activity_count = fields.Integer(
        "Required Completed Activities", default=0,
        help="The lead can only be lost for this reason after this many completed activities of the type "
        "(e.g. six logged call attempts before “no answer”).")
    required_activity_type_id = fields.Many2one(
        "mail.activity.type", string="Activity Type", ondelete="restrict",
        domain="[('res_model', 'in', (False, 'crm.lead'))]")

    _sql_constraints = [
        ("required_activity_count_positive", "CHECK(required_activity_count >= 0)",
         "The number of required activities cannot be negative."),
    ]

    @api.model
    def name_search(self, name="", args=None, operator="ilike", limit=100):
        """In the lost dialog, the reasons of the lead's pipeline come first, then those of every
        pipeline (``lost_reason_team_ids`` in the context: the order only, never which reasons)."""
        team_ids = self.env.context.get("lost_reason_team_ids")
        if not (isinstance(team_ids, list) and team_ids and all(isinstance(i, int) for i in team_ids)):
            return super().name_search(name, args, operator=operator, limit=limit)
        own = super().name_search(name, expression.AND([args or [], [("team_ids", "in", team_ids)]]),
                                  operator=operator, limit=limit)
        if limit and len(own) >= limit:
            return own
        rest = super().name_search(
            name, expression.AND([args or [], [("id", "not in", [row[0] for row in own])]]),
            operator=operator, limit=limit and limit - len(own))
        return own + rest

    @api.constrains("required_activity_count", "required_activity_type_id")
    def _check_required_activity_type_id(self):
        for reason in self:
            if reason.required_activity_count and not reason.required_activity_type_id:
                raise ValidationError(_(
                    "Lost reason “%(reason)s” requires completed activities: choose their type.", reason=reason.name))
