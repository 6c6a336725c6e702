from odoo import fields, models


class CrmLeadChecklistLineSendBack(models.TransientModel):
    """"Needs Changes" on a checklist item ("Reject" on an approval): what needs changing, then the
    line's own method (``action_send_back``, ``action_reject``) decides and reopens."""

    _name = "crm.lead.checklist.line.send.back"
    _description = "Checklist Item Needs Changes"

    line_id = fields.Many2one("crm.lead.checklist.line", string="Item", required=True, ondelete="cascade")
    send_back_item_id = fields.Many2one(related="line_id.send_back_item_id")
    is_approval = fields.Boolean(related="line_id.is_approval")
    reason = fields.Text("What Needs Changing", required=True)

    def action_send_back(self):
        """An approval is rejected (``action_reject``), another step needs changes."""
        self.ensure_one()
        if self.is_approval:
            self.line_id.action_reject(self.reason)
        else:
            self.line_id.action_send_back(self.reason)
        return {"type": "ir.actions.act_window_close"}
