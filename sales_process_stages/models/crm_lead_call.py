"""Calls of the rep's day: *Call Done*, *No Answer* (an attempt logged, the lead left where it is,
the next attempt planned after the pipeline's retry delay) and *Schedule Next*.

A call attempt is a completed call activity (a message of the chatter carrying the call type,
which only Odoo's "mark as done" posts: ``message_post`` and ``mail.message`` refuse a client's),
the count the "no answer" lost reason checks: ``call_attempt_count`` and the loss rule read the
same ``_get_done_activity_counts``. Activities go through ``mail.activity`` (created in batch,
marked done with ``action_feedback``); the process writes ``call_no_answer_date`` only."""

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

# a call's outcome ends the hold "Next" put on the lead
CALL_HOLD_ENDED = {"call_held_by_id": False, "call_held_until": False}


class CrmLead(models.Model):
    _inherit = "crm.lead"

    call_attempt_count = fields.Integer(
        "Call Attempts", compute="_compute_call_attempt_count",
        help="Completed call activities of the lead, “no answer” attempts included: the count a lost "
        "reason requiring calls checks.")
    call_no_answer_date = fields.Datetime(
        "Last No Answer", readonly=True, copy=False,
        help="When the last call attempt got no answer, until a call reaches the customer.")
    # the call queue's "Next" hands the lead to a rep for a few minutes (``crm.lead.call.queue``):
    # until they log the call's outcome or the hold times out, "Next" hands out the following lead
    call_held_by_id = fields.Many2one("res.users", readonly=True, copy=False)
    call_held_until = fields.Datetime(readonly=True, copy=False)

    @api.depends_context("uid")
    def _compute_call_attempt_count(self):
        call_type = self._get_call_activity_type()
        counts = self.filtered("id")._get_done_activity_counts(call_type) if call_type else {}
        for lead in self:
            lead.call_attempt_count = counts.get((lead.id, call_type.id), 0)

    @api.model
    def _get_process_computed_fields(self):
        return super()._get_process_computed_fields() | {"call_no_answer_date", "call_held_by_id", "call_held_until"}

    @api.model
    def _get_call_activity_type(self):
        # the id is cached with the registry: no query per read of the attempts
        return self.env["mail.activity.type"].browse(self.env["ir.model.data"]._xmlid_to_res_id(
            "mail.mail_activity_data_call", raise_if_not_found=False))

    # ------------------------------------------------------------
    # MAIL
    # ------------------------------------------------------------

    def message_post(self, **kwargs):
        """A message carrying an activity type is a completed activity (a call attempt, the
        activities a lost reason asks for): Odoo posts it, as superuser, when an activity is marked
        done (``mail.activity._action_done``); a client posting one would count calls never made."""
        if kwargs.get("mail_activity_type_id") and not self.env.su:
            raise ValidationError(_(
                "An activity is logged in the chatter by marking it done, not by posting a message."))
        return super().message_post(**kwargs)

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_call_done(self):
        """A call reached the customer: the planned call is done (or one is logged), nothing is reset."""
        self._call_log(_("Call done"), reached=True)
        self._write_call_fields({"call_no_answer_date": False, **CALL_HOLD_ENDED})
        return True

    def action_call_no_answer(self):
        """The customer did not answer: the attempt is logged, the lead stays where it is and the next
        attempt is planned after the pipeline's retry delay. When the attempts reach what the
        "no answer" lost reason asks for, the rep is offered to lose the lead for it."""
        return self._call_no_answer() or True

    def _call_no_answer(self, planned=None):
        """Log a call attempt without an answer and plan the next one (see ``action_call_no_answer``).

        :param planned: the call activities the attempt was planned as (their own button)
        :return: the lost dialog to offer, or False
        """
        self._call_log(_("No answer"), reached=False, planned=planned)
        self._write_call_fields({"call_no_answer_date": fields.Datetime.now(), **CALL_HOLD_ENDED})
        self._call_plan_retry()
        return self._call_offer_loss()

    def action_call_schedule_next(self):
        """Odoo's activity dialog, for a call."""
        call_type = self._get_call_activity_type()
        return {
            "type": "ir.actions.act_window",
            "name": _("Schedule the Next Call"),
            "res_model": "mail.activity.schedule",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {"active_model": self._name, "active_ids": self.ids, "active_id": self[:1].id,
                        "default_activity_type_id": call_type.id},
        }

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _write_call_fields(self, vals):
        """The process's own call fields, written for those who may edit the leads."""
        self.check_access("write")
        self.sudo().write(vals)

    def _call_log(self, feedback, reached, planned=None):
        """Complete a call on each lead, in batch: its first planned call activity (a checklist
        item's call, when the call reached the customer, is ticked with it), else a call logged as
        done now. Either way the chatter gets a completed call.

        :param reached: whether the call reached the customer
        :param planned: the call activities being completed (from the activity's own button)
        """
        self.check_access("write")
        call_type = self._get_call_activity_type()
        if planned is None:
            planned = self.env["mail.activity"].search([
                ("res_model", "=", self._name), ("res_id", "in", self.ids),
                ("activity_type_id", "=", call_type.id)], order="date_deadline, id")
        if not reached:
            # a checklist item's call is not done by an attempt: its line stays open (rescheduled)
            planned -= self.env["crm.lead.checklist.line"].sudo().search(
                [("activity_id", "in", planned.ids)]).activity_id
        first_planned = {}
        for activity in planned:
            first_planned.setdefault(activity.res_id, activity)
        missing = self.filtered(lambda lead: lead.id not in first_planned)
        Activity = self.env["mail.activity"]
        if len(missing) > 1:
            Activity = Activity.with_context(mail_activity_quick_update=True)
        logged = Activity.create([{
            "res_model_id": self.env["ir.model"]._get_id(self._name),
            "res_id": lead.id,
            "activity_type_id": call_type.id,
            "summary": feedback,
            "user_id": self.env.uid,
        } for lead in missing])
        (self.env["mail.activity"].union(*first_planned.values()) | logged).action_feedback(feedback=feedback)

    def _call_plan_retry(self):
        """The next attempt, after the pipeline's retry delay: the open call item of the checklist is
        due then, else a call is planned for the salesperson."""
        call_type = self._get_call_activity_type()
        dates = self._get_call_retry_dates()
        Line = self.env["crm.lead.checklist.line"].sudo()
        lines = Line.search([("lead_id", "in", self.ids), ("state", "=", "open"),
                             ("activity_id.activity_type_id", "=", call_type.id)])
        rescheduled = {}  # lead id: its first open call item
        for line in lines:
            rescheduled.setdefault(line.lead_id.id, line)
        for day, day_lines in Line.union(*rescheduled.values()).grouped(
                lambda line: dates[line.lead_id.id]).items():
            day_lines.write({"date_deadline": day})
        planned = self.env["mail.activity"].search([
            ("res_model", "=", self._name), ("res_id", "in", self.ids), ("activity_type_id", "=", call_type.id)])
        waiting = set(planned.mapped("res_id"))
        leads = self.filtered(lambda lead: lead.id not in rescheduled and lead.id not in waiting)
        Activity = self.env["mail.activity"]
        if len(leads) > 1:
            Activity = Activity.with_context(mail_activity_quick_update=True)
        Activity.create([{
            "res_model_id": self.env["ir.model"]._get_id(self._name),
            "res_id": lead.id,
            "activity_type_id": call_type.id,
            "summary": _("Call again (attempt %(attempt)s)", attempt=lead.call_attempt_count + 1),
            "date_deadline": dates[lead.id],
            "user_id": lead.user_id.id or self.env.uid,
        } for lead in leads])

    def _get_call_retry_dates(self):
        """{lead id: the day of the next attempt}: the pipeline's retry delay after now, in working days
        or hours of the pipeline's working calendar (else the company's), one computation per
        pipeline."""
        now = pytz.utc.localize(fields.Datetime.now())
        dates = {}
        for team, leads in self.grouped("team_id").items():
            calendar = team.resource_calendar_id or (team.company_id or self.env.company).resource_calendar_id
            delay, unit = (team.call_retry_delay, team.call_retry_delay_unit) if team else (1, "days")
            day = self.env["crm.team"]._get_call_retry_day(calendar, now, delay, unit)
            for lead in leads:
                dates[lead.id] = day
        return dates

    def _call_offer_loss(self):
        """The "no answer" lost dialog for the leads whose attempts reached what a lost reason
        requiring calls asks for (the lead's pipeline's reasons), prefilled with that reason."""
        call_type = self._get_call_activity_type()
        reasons = self.env["crm.lost.reason"].search(
            [("required_activity_type_id", "=", call_type.id), ("required_activity_count", ">", 0)],
            order="required_activity_count desc, id")
        if not reasons:
            return False
        self.invalidate_recordset(["call_attempt_count"])
        for reason in reasons:
            leads = self.filtered(lambda lead, reason=reason: lead.active
                                  and lead.call_attempt_count >= reason.required_activity_count
                                  and (not reason.team_ids or lead.team_id in reason.team_ids)
                                  and (not reason.company_id or lead.company_id == reason.company_id))
            if leads:
                action = self.env["ir.actions.act_window"]._for_xml_id("crm.crm_lead_lost_action")
                action["context"] = {"active_model": self._name, "active_ids": leads.ids, "active_id": leads[:1].id,
                                     "default_lost_reason_id": reason.id}
                action["name"] = _("%(count)s attempts without an answer: lose the lead?",
                                   count=reason.required_activity_count)
                return action
        return False

