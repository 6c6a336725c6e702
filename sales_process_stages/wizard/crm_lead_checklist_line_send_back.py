from odoo import fields, models


class CrmLeadChecklistLineSendBack(models.TransientModel):
    """"Needs Changes" on a checklist item: what needs changing, then the line's own method
    (``crm.lead.checklist.line.action_send_back``) decides and reopens."""

    _name = "crm.lead.checklist.line.send.back"
    _description = "Checklist Item Needs Changes"

    line_id = fields.Many2one("crm.lead.checklist.line", string="Item", required=True, ondelete="cascade")
    send_back_item_id = fields.Many2one(related="line_id.send_back_item_id")
    reason = fields.Text("What Needs Changing", required=True)

    def action_send_back(self):
        self.ensure_one()
        self.line_id.action_send_back(self.reason)
        return {"type": "ir.actions.act_window_close"}
