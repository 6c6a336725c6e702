from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class CrmLeadTransfer(models.TransientModel):
    _name = "crm.lead.transfer"
    _description = "Transfer Leads to Another Pipeline"

    lead_ids = fields.Many2many("crm.lead", string="Leads", required=True)
    team_id = fields.Many2one("crm.team", string="To Pipeline", required=True,
                              domain="[('use_opportunities', '=', True)]")
    team_own_stages_only = fields.Boolean(related="team_id.own_stages_only")
    # the offer only: the lead's gate refuses a stage that is not the pipeline's, or a won one
    # its won-from rule does not allow (crm_lead_pipeline.py)
    stage_id = fields.Many2one(
        "crm.stage", compute="_compute_stage_id", store=True, readonly=False, required=True, precompute=True,
        domain="[('is_won', '=', False),"
        " ('team_id', 'in', [team_id] if team_own_stages_only else [team_id, False])]",
        help="The first stage of the pipeline unless you choose another.")
    reason = fields.Text(required=True)

    @api.depends("team_id")
    def _compute_stage_id(self):
        for wizard in self:
            wizard.stage_id = self.env["crm.lead"]._stage_find(
                team_id=wizard.team_id.id, domain=[("fold", "=", False), ("is_won", "=", False)])

    def action_transfer(self):
        """Move the leads to the other pipeline through the lead's gate (the target stage's entry
        rules apply) and log why in the chatter."""
        self.ensure_one()
        if not (self.reason or "").strip():
            raise ValidationError(_("Say why the leads change pipeline."))
        if self.lead_ids.team_id == self.team_id:
            raise ValidationError(_("The leads are already in pipeline “%(team)s”.", team=self.team_id.name))
        old_teams = {lead.id: lead.team_id.name or _("no pipeline") for lead in self.lead_ids}
        self.lead_ids.write(
            {"team_id": self.team_id.id, "stage_id": self.stage_id.id})
        self.lead_ids._message_log_batch({
            lead.id: Markup("<p>%s</p>") % _(
                "Transferred from pipeline “%(old)s” to “%(new)s”: %(reason)s",
                old=old_teams[lead.id], new=self.team_id.name, reason=self.reason.strip())
            for lead in self.lead_ids
        })
        return {"type": "ir.actions.act_window_close"}
