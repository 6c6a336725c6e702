from odoo import models


class MailActivity(models.Model):
    _inherit = "mail.activity"

    def _action_done(self, feedback=False, attachment_ids=None):
        """Marking a checklist activity done ticks its checklist line."""
        if self.env.context.get("sps_from_checklist_line"):
            return super()._action_done(feedback=feedback, attachment_ids=attachment_ids)
        lines = self.env["crm.lead.checklist.line"].sudo().search(
            [("activity_id", "in", self.ids), ("state", "=", "open")])
        lines._check_attachment(extra_attachment=bool(attachment_ids))
        result = super()._action_done(feedback=feedback, attachment_ids=attachment_ids)
        if lines:
            lines._set_done()
        return result
