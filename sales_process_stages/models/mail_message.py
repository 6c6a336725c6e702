"""Messages of the leads that carry an activity type count as completed activities (call
attempts, the activities a lost reason asks for: ``crm_lead_loss.py``). Odoo posts them as
superuser when an activity is marked done; a client creating or editing one directly is refused
(``crm.lead.message_post`` refuses it on the chatter's path, ``crm_lead_call.py``)."""

from odoo import _, api, models
from odoo.exceptions import ValidationError


class MailMessage(models.Model):
    _inherit = "mail.message"

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su and any(vals.get("model") == "crm.lead" and vals.get("mail_activity_type_id")
                                   for vals in vals_list):
            self._raise_activity_type_written()
        return super().create(vals_list)

    def write(self, vals):
        if "mail_activity_type_id" in vals and not self.env.su and "crm.lead" in self.mapped("model"):
            self._raise_activity_type_written()
        return super().write(vals)

    @api.model
    def _raise_activity_type_written(self):
        raise ValidationError(_("An activity is logged in the chatter by marking it done, not by posting a message."))
