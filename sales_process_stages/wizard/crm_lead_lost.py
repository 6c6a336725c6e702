from odoo import api, fields, models
from odoo.tools import html2plaintext, is_html_empty


class CrmLeadLost(models.TransientModel):
    _inherit = "crm.lead.lost"

    requires_competitor = fields.Boolean(related="lost_reason_id.requires_competitor")
    requires_note = fields.Boolean(related="lost_reason_id.requires_note")
    lost_reason_required = fields.Boolean(compute="_compute_lost_reason_required")
    lead_team_ids = fields.Many2many("crm.team", compute="_compute_lead_team_ids")
    lost_competitor_id = fields.Many2one("res.partner", string="Competitor")
    lost_competitor_name = fields.Char("Competitor Name")

    @api.depends("lead_ids")
    def _compute_lost_reason_required(self):
        for wizard in self:
            wizard.lost_reason_required = any(wizard.lead_ids.team_id.mapped("lost_reason_required"))

    @api.depends("lead_ids")
    def _compute_lead_team_ids(self):
        for wizard in self:
            wizard.lead_team_ids = wizard.lead_ids.team_id

    def action_lost_reason_apply(self):
        """Give the leads the details the reason asks for; the lead's gate checks them."""
        self.ensure_one()
        values = {}
        if self.lost_competitor_id or self.lost_competitor_name:
            values.update(lost_competitor_id=self.lost_competitor_id.id,
                          lost_competitor_name=(self.lost_competitor_name or "").strip() or False)
        if not is_html_empty(self.lost_feedback):
            values["lost_note"] = html2plaintext(self.lost_feedback).strip() or False
        if values:
            self.lead_ids.write(values)
        return super().action_lost_reason_apply()
