"""Speed to lead: each lead's first response, from its creation to the first time someone acted on
it, recorded once by the process.

The first response is the earliest of:

- a completed call, email or meeting on the lead: a ``mail.activity`` marked done
  (``mail_activity.py``, ``_action_done``) whose type is of a contact category
  (``FIRST_RESPONSE_CATEGORIES``: Odoo's *Call* is ``phonecall``, calendar's *Meeting* is
  ``meeting``, and so is any type an administrator gives these categories) or one of Odoo's
  call, email and meeting types (``FIRST_RESPONSE_TYPE_XMLIDS``: the *Email* type has no category
  of its own, "None" as a to-do has);
- its first stage move: the lead leaves the stage it was created in for another stage of its
  pipeline, won or transferred to another pipeline (``FIRST_RESPONSE_KINDS``, in the transition's
  apply step, see ``crm_lead.py``). A loss is no response, nor a restore.

The time it took is counted as the SLA of the stage the lead was created in counts (its first
stay, ``crm.lead.stage.history``): in working time (the pipeline's calendar, through the addon's
SLA clock) or calendar time; calendar time when that stage has no SLA. It is compared with that
stage's time budget (the budget alone: no hold nor planned activity extends it).

Set once: later calls and moves change nothing; only ``_first_response_from_history`` (upgrade,
demo) rebuilds it from the chatter and the stays. Written by the process only
(``_get_process_computed_fields``).
"""

from collections import defaultdict

from odoo import api, fields, models
from odoo.tools import SQL, split_every

from ..tools.sla_clock import SlaClock
from ..tools.stage_transition import MOVED, TRANSFERRED, WON

# a completed activity of these categories is a contact...
FIRST_RESPONSE_CATEGORIES = ("phonecall", "meeting")
# ... and so is one of these types (Odoo's email type has the category "None", as to-dos have)
FIRST_RESPONSE_TYPE_XMLIDS = (
    "mail.mail_activity_data_call", "mail.mail_activity_data_email", "mail.mail_activity_data_meeting",
)
# the transitions that are a stage move out of the stage the lead was created in (its stay's exit types)
FIRST_RESPONSE_KINDS = (MOVED, WON, TRANSFERRED)
FIRST_RESPONSE_EXIT_TYPES = ("move", "won", "transferred")
FIRST_RESPONSE_FIELDS = (
    "first_response_date", "first_response_hours", "first_response_sla_hours", "first_response_within_sla",
)
FIRST_RESPONSE_NONE_VALUES = {
    "first_response_date": False, "first_response_hours": 0.0, "first_response_sla_hours": 0.0,
    "first_response_within_sla": False,
}


class CrmLead(models.Model):
    _inherit = "crm.lead"

    # Speed to lead: the first response, recorded once
    first_response_date = fields.Datetime(
        "First Response", copy=False, readonly=True,
        help="When someone first acted on the lead: a call, email or meeting marked done, or its first "
        "move out of the stage it was created in, whichever came first.")
    first_response_hours = fields.Float(
        "First Response Time (Hours)", copy=False, readonly=True, aggregator="avg",
        help="Time from the lead's creation to its first response, counted as the SLA of the stage it was "
        "created in counts (working or calendar time; calendar time without SLA).")
    first_response_sla_hours = fields.Float(
        "First Response SLA (Hours)", copy=False, readonly=True, aggregator=False,
        help="Time budget of the stage the lead was created in, which the first response is compared with "
        "(0: that stage has no SLA).")
    first_response_within_sla = fields.Boolean(
        "First Response Within SLA", copy=False, readonly=True,
        help="The first response came within the time budget of the stage the lead was created in "
        "(never set when that stage has no SLA).")

    # ------------------------------------------------------------
    # TRANSITION: apply
    # ------------------------------------------------------------

    @api.model
    def _get_process_computed_fields(self):
        return super()._get_process_computed_fields() | set(FIRST_RESPONSE_FIELDS)

    def _apply_transition_first_response(self, transitions):
        """The first move out of the stage a lead was created in is its first response (unless a
        call, email or meeting came first)."""
        moved = {
            transition.lead.id: transition.old_stage_id for transition in transitions
            if transition.kind in FIRST_RESPONSE_KINDS and transition.leaves_stay
            and not transition.lead.first_response_date
        }
        if moved:
            self.browse(list(moved))._first_response_record(self.env.cr.now(), default_stage_ids=moved)


    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    def _first_response_type_xmlid_ids(self):
        """Ids of Odoo's call, email and meeting types (their XML ids are cached by the registry)."""
        return {
            type_id for xmlid in FIRST_RESPONSE_TYPE_XMLIDS
            if (type_id := self.env["ir.model.data"]._xmlid_to_res_id(xmlid, raise_if_not_found=False))
        }

    @api.model
    def _first_response_activity_type_domain(self):
        """The activity types whose completion is a contact with the lead."""
        return ["|", ("category", "in", FIRST_RESPONSE_CATEGORIES),
                ("id", "in", list(self._first_response_type_xmlid_ids()))]

    @api.model
    def _first_response_activity_lead_ids(self, activities):
        """Leads that the completion of ``activities`` answers: calls, emails and meetings (as the
        domain above) on leads."""
        xmlid_ids = self._first_response_type_xmlid_ids()
        return {
            activity.res_id for activity in activities.sudo()
            if activity.res_model == self._name and activity.res_id and activity.activity_type_id
            and (activity.activity_type_id.category in FIRST_RESPONSE_CATEGORIES
                 or activity.activity_type_id.id in xmlid_ids)
        }

    def _first_response_record(self, at, default_stage_ids=None):
        """``at`` is the first response of those leads that have none yet (in batch: one query for
        their first stays, one UPDATE per set of values when flushed).

        :param default_stage_ids: {lead id: stage id} the stage a lead without stay was created in
            (default: its stage)
        """
        leads = self.sudo().filtered(lambda lead: not lead.first_response_date)
        if not leads:
            return
        stage_ids = leads._first_response_stage_ids()
        default_stage_ids = default_stage_ids or {}
        responses = {
            lead: (at, stage_ids.get(lead.id) or default_stage_ids.get(lead.id) or lead.stage_id.id)
            for lead in leads
        }
        leads._first_response_write(responses)

    def _first_response_stage_ids(self):
        """{lead id: the stage of its first stay}: the stage it was created in."""
        if not self:
            return {}
        self.env["crm.lead.stage.history"].flush_model(["lead_id", "stage_id", "date_in"])
        self.env.cr.execute(SQL("""
            SELECT DISTINCT ON (lead_id) lead_id, stage_id
              FROM crm_lead_stage_history
             WHERE lead_id IN %s
          ORDER BY lead_id, date_in, id
        """, tuple(self.ids)))
        return dict(self.env.cr.fetchall())

    def _first_response_write(self, responses):
        """Write the first responses: {lead: (date or None, id of the stage it was created in)}."""
        rules = self.env["crm.stage"]._get_process_rules()
        clocks = {}
        lead_ids_by_vals = defaultdict(list)
        for lead, (at, stage_id) in responses.items():
            if at:
                vals = lead._first_response_values(at, stage_id, rules, clocks)
            elif lead.first_response_date:
                vals = FIRST_RESPONSE_NONE_VALUES
            else:
                continue
            lead_ids_by_vals[tuple(sorted(vals.items()))].append(lead.id)
        # not tracked: no tracking to prepare per write
        leads = self.sudo().with_context(tracking_disable=True)
        for vals, lead_ids in lead_ids_by_vals.items():
            leads.browse(lead_ids).write(dict(vals))

    def _first_response_values(self, at, stage_id, rules, clocks):
        """First response values of the lead answered at ``at``, created in stage ``stage_id``
        (``rules``: the process rules, ``crm.stage._get_process_rules``)."""
        self.ensure_one()
        rule = rules.stage(stage_id)
        sla = rule.sla if not rule.is_won else None
        start = self.create_date or at
        clock = None
        if sla and sla.working:
            calendar = self._sla_get_calendar()
            key = (calendar.id, True)
            clock = clocks.get(key) or clocks.setdefault(key, SlaClock(calendar, True))
            if not clock.has_working_time(start):
                clock = None  # no working time in reach: calendar time, as the SLA does
        if clock is None:
            clock = clocks.get(None) or clocks.setdefault(None, SlaClock())
        hours = max(clock.hours_between(start, at), 0.0)
        budget = self._sla_hours(sla.duration, clock) if sla else 0.0
        return {
            "first_response_date": at,
            "first_response_hours": hours,
            "first_response_sla_hours": budget,
            "first_response_within_sla": bool(sla) and hours <= budget,
        }

    @api.model
    def _first_response_rebuild(self, batch_size=1000):
        """The leads without a first response get the one their history shows, if any (at install
        on a database with leads, and at the upgrade to 18.0.1.3.0), by batches."""
        lead_ids = self.sudo().with_context(active_test=False).search([("first_response_date", "=", False)]).ids
        for batch_ids in split_every(batch_size, lead_ids):
            self.browse(batch_ids)._first_response_from_history()
            self.env.invalidate_all()  # flushes first: constant memory

    def _first_response_from_history(self):
        """Rebuild the leads' first responses from what they kept: the completed calls, emails and
        meetings in their chatter (Odoo's "activity done" messages) and their stays (the first
        move out of a stage). For the leads of an upgraded database and for the demo data; the
        process sets them as they happen."""
        if not self:
            return
        leads = self.sudo().with_context(active_test=False)
        subtype = self.env.ref("mail.mt_activities")
        type_ids = self.env["mail.activity.type"].sudo().with_context(active_test=False).search(
            self._first_response_activity_type_domain()).ids
        done = dict(self.env["mail.message"].sudo()._read_group(
            [("model", "=", self._name), ("res_id", "in", leads.ids), ("subtype_id", "=", subtype.id),
             ("mail_activity_type_id", "in", type_ids)],
            ["res_id"], ["date:min"]))
        self.env["crm.lead.stage.history"].flush_model()
        self.env.cr.execute(SQL("""
            SELECT lead_id, MIN(date_out)
              FROM crm_lead_stage_history
             WHERE lead_id IN %s AND exit_type IN %s AND date_out IS NOT NULL
          GROUP BY lead_id
        """, tuple(leads.ids), FIRST_RESPONSE_EXIT_TYPES))
        moved = dict(self.env.cr.fetchall())
        stage_ids = leads._first_response_stage_ids()
        responses = {}
        for lead in leads:
            dates = [date for date in (done.get(lead.id), moved.get(lead.id)) if date]
            responses[lead] = (min(dates) if dates else None, stage_ids.get(lead.id) or lead.stage_id.id)
        leads._first_response_write(responses)
