import contextlib
import contextvars

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from ..tools import bounds

# ids of the activities being marked done now, in this thread (``_action_done`` deletes them as it
# completes them: not a cancel). A Python context variable, not a context key: no client sets it.
_ACTIVITY_IDS_BEING_DONE = contextvars.ContextVar("sales_process_stages_activity_ids_being_done",
                                                  default=frozenset())


@contextlib.contextmanager
def _being_done(activity_ids):
    token = _ACTIVITY_IDS_BEING_DONE.set(_ACTIVITY_IDS_BEING_DONE.get() | set(activity_ids))
    try:
        yield
    finally:
        _ACTIVITY_IDS_BEING_DONE.reset(token)


class MailActivity(models.Model):
    _inherit = "mail.activity"

    @api.constrains("date_deadline", "res_model_id")
    def _check_lead_date_deadline(self):
        """The due date of a lead's activity (the SLA reads it: a planned activity extends the
        deadline) is within ``bounds.ACTIVITY_DEADLINE_YEARS`` years of today."""
        activities = self.filtered(lambda activity: activity.res_model == "crm.lead" and activity.date_deadline)
        if activities:
            lowest, highest = bounds.activity_deadline_range(fields.Date.context_today(self))
            label = self._fields["date_deadline"]._description_string(self.env)
            for activity in activities:
                bounds.check_date(self.env, activity.date_deadline, label, lowest, highest)

    def _action_done(self, feedback=False, attachment_ids=None):
        """Marking a checklist activity done ticks its checklist line (a line ticked first has
        no open line left here); a call, email or meeting done is its lead's first response when
        the lead has none yet (``crm_lead_first_response.py``)."""
        if attachment_ids and not self.env.su:
            # the files given go on the message posted on the record: the user's own files only
            try:
                self.env["ir.attachment"].browse(attachment_ids).check("read")
            except AccessError:
                raise ValidationError(_(
                    "You can only give files you may read when marking an activity done.")) from None
        lines = self._checklist_lines()
        if lines:
            # who completes the items, with which files: as the user marking the activities done
            lines = lines.with_env(self.env)
            lines._check_completer()
            lines._check_attachment()
        # read before the activities are gone
        answered_lead_ids = self.env["crm.lead"]._first_response_activity_lead_ids(self)
        with _being_done(self.ids):
            result = super()._action_done(feedback=feedback, attachment_ids=attachment_ids)
        if lines:
            lines._mark_done()
        if answered_lead_ids:
            self.env["crm.lead"].browse(answered_lead_ids)._first_response_record(self.env.cr.now())
        return result

    def action_call_no_answer(self):
        """"No Answer" on a planned call of a lead: the attempt is logged (this activity done, or
        a logged call when it is a checklist item's, which stays open), the next one planned."""
        calls = self.filtered(
            lambda activity: activity.res_model == "crm.lead" and activity.activity_category == "phonecall")
        leads = self.env["crm.lead"].browse(calls.mapped("res_id"))
        return leads._call_no_answer(planned=calls) or {"type": "ir.actions.act_window_close"}

    # ------------------------------------------------------------
    # SLA: planned activities extend the deadline of leads in stages that say so
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        activities = super().create(vals_list)
        activities._sla_notify_leads()
        return activities

    def write(self, vals):
        # a checklist item's activity is reassigned as its line is, by the same rule, and the line follows
        lines = self._checklist_lines() if "user_id" in vals else None
        if lines and not self.env.su:
            lines.with_env(self.env)._check_write_fields({"user_id": vals["user_id"]})
        if vals.get("user_id"):
            # the new assignee follows the leads as an item's assignee does, before Odoo subscribes them
            lead_ids = {activity.res_id for activity in self.sudo()
                        if activity.res_model == "crm.lead" and activity.user_id.id != vals["user_id"]}
            if lead_ids:
                self.env["crm.lead"]._checklist_subscribe_assignees({vals["user_id"]: lead_ids})
        before = self._sla_lead_ids() if {"date_deadline", "res_id", "res_model_id", "res_model", "active",
                                          "activity_type_id"} & set(vals) else set()
        res = super().write(vals)
        if before:
            self._sla_notify_leads(before)
        if lines:
            lines.filtered(lambda line: line.user_id.id != (vals["user_id"] or False)).write(
                {"user_id": vals["user_id"]})
        return res

    def _check_checklist_activity_cancel(self):
        """A user cancelling (deleting) the activity of an open checklist item is refused: the item
        would stay to do with nobody reminded. It is done or skipped (with a reason) on its line,
        which ends its activity; the process's own paths (a lost lead, a deleted lead, the line's
        own changes) run as the superuser or after the line let go of its activity."""
        if self.env.su:
            return
        being_done = _ACTIVITY_IDS_BEING_DONE.get()
        lines = (self - self.browse(being_done))._checklist_lines()
        if lines:
            line = lines[0]
            raise UserError(_(
                "“%(item)s” is a checklist item of “%(lead)s”: its activity cannot be cancelled. Mark the item "
                "done, or skip it with a reason, in the lead's Checklist tab.",
                item=line.name, lead=line.lead_id.display_name,
            ))

    def _checklist_lines(self):
        """The open checklist lines of these activities (superuser)."""
        return self.env["crm.lead.checklist.line"].sudo().search(
            [("activity_id", "in", self.ids), ("state", "=", "open")])

    def unlink(self):
        self._check_checklist_activity_cancel()
        lead_ids = self._sla_lead_ids()
        res = super().unlink()
        if lead_ids:
            self.env["crm.lead"].browse(lead_ids)._on_activities_changed()
        return res

    def _sla_lead_ids(self):
        """Leads of these activities, unless the activities are the SLA's own escalations (no
        planned next step: they change no deadline)."""
        escalation_type_ids = self.env["crm.stage"]._get_sla_escalation_type_ids()
        return {
            activity.res_id for activity in self.sudo()
            if activity.res_model == "crm.lead" and activity.res_id
            and activity.activity_type_id.id not in escalation_type_ids
        }

    def _sla_notify_leads(self, lead_ids=()):
        lead_ids = set(lead_ids) | self._sla_lead_ids()
        if lead_ids:
            self.env["crm.lead"].browse(lead_ids)._on_activities_changed()
