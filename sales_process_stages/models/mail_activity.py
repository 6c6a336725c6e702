from odoo import api, models


class MailActivity(models.Model):
    _inherit = "mail.activity"

    @api.depends("active", "date_deadline")
    def _compute_state(self):
        """As mail's, for a batch at once: each due date and time zone computed once, the
        assignee's time zone read from the activity (``user_tz``, stored as the assignee's) rather
        than from the assignee's record. Checklists schedule several activities per lead, and a
        pipeline kanban computes the state of every activity of its cards."""
        states = {}
        for activity in self.filtered("date_deadline"):
            if not activity.active:
                activity.state = "done"
                continue
            key = (activity.date_deadline, activity.user_tz)
            if key not in states:
                states[key] = self._compute_state_from_date(*key)
            activity.state = states[key]

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

    # ------------------------------------------------------------
    # SLA: planned activities extend the deadline of leads in stages that say so
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        activities = super().create(vals_list)
        activities._sla_notify_leads()
        return activities

    def write(self, vals):
        before = self._sla_lead_ids() if {"date_deadline", "res_id", "res_model_id", "res_model", "active",
                                          "activity_type_id"} & set(vals) else set()
        res = super().write(vals)
        if before:
            self._sla_notify_leads(before)
        return res

    def unlink(self):
        lead_ids = self._sla_lead_ids()
        res = super().unlink()
        if lead_ids:
            self.env["crm.lead"].browse(lead_ids)._sla_activities_changed()
        return res

    def _sla_lead_ids(self):
        if self.env.context.get("sla_internal"):
            return set()
        return {activity.res_id for activity in self.sudo() if activity.res_model == "crm.lead" and activity.res_id}

    def _sla_notify_leads(self, lead_ids=()):
        lead_ids = set(lead_ids) | self._sla_lead_ids()
        if lead_ids:
            self.env["crm.lead"].browse(lead_ids)._sla_activities_changed()
