"""The stage's email: a lead reaching a stage with an email template (``crm.stage.mail_template_id``)
sends it to the customer at once, the first time it reaches that stage, through mail's tracking
(``_track_template``, as ``project.task`` sends its stage's email). It costs nothing where no stage
has a template, and adds no automation rule that every write of every lead would look up."""

from odoo import models


class CrmLead(models.Model):
    _inherit = "crm.lead"

    def _track_template(self, changes):
        res = super()._track_template(changes)
        if "stage_id" not in changes:
            return res
        # read as the superuser: the user who changed the stage may no longer read the lead when
        # the tracking is posted (Odoo's multi-company tests); a stage without email sends nothing
        lead = self[0].sudo()
        template = lead.stage_id.mail_template_id
        if template and lead._is_first_stay_in_stage():
            res["stage_id"] = (template.with_env(self.env), {
                "auto_delete_keep_log": False,
                "subtype_id": self.env["ir.model.data"]._xmlid_to_res_id("mail.mt_comment"),
                "email_layout_xmlid": "mail.mail_notification_light",
            })
        return res

    def _is_first_stay_in_stage(self):
        """Whether the lead is in its stage for the first time (its history holds one stay there at
        most: a lead won again after being reopened is not welcomed twice)."""
        self.ensure_one()
        return self.env["crm.lead.stage.history"].sudo().search_count(
            [("lead_id", "=", self.id), ("stage_id", "=", self.stage_id.id)], limit=2) <= 1
