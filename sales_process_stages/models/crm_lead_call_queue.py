"""*My Call Queue*: the rep's open leads that need a call now, in the order of the playbook.

A read-only view on the leads (``_auto = False``), computed when read: the day is each
salesperson's own (their time zone). A lead is in one group, the first that applies:

1. *First contact*: nobody has contacted it yet; the oldest first;
2. *Follow-up*: an activity of its salesperson is due today or earlier; the largest expected
   revenue first;
3. *No answer*: its last call attempt, before today, got no answer (the retry planned after it is
   due); the largest expected revenue first.

*Next* hands the rep the top lead of their queue and holds it for them for a few minutes
(``CALL_HOLD_MINUTES``): the next *Next* hands out the following one, until they log the call's
outcome (which ends the hold) or the hold times out. A lead held by another user (a manager
working a rep's queue) is left out of *Next*, never handed twice at once: the row is taken with
``FOR UPDATE SKIP LOCKED``.

Within a group, Odoo's priority stars come first. Only leads someone can call are queued (a
phone or mobile number on the lead or its customer), and only in pipelines someone configured
(the pipelines nobody configured behave as in plain Odoo: no queue). "Why Now" says what put the
lead there and by when (the SLA deadline of a first contact, the activity due, the unanswered
attempt).

The groups' conditions are SQL shared with the daily review (``crm.lead.daily.review``).
"""

from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL
from odoo.tools.misc import format_date, format_datetime

from odoo.addons.crm.models.crm_stage import AVAILABLE_PRIORITIES

from ..tools.sla_state import SLA_STATES

# how long "Next" holds a lead for the rep it was handed to
CALL_HOLD_MINUTES = 5

# The day of the lead's salesperson: ``d.today`` (a date), ``d.tomorrow_start`` (naive UTC).
SALESPERSON_DAY_SQL = SQL("""
    LEFT JOIN res_users u ON u.id = l.user_id
    LEFT JOIN res_partner up ON up.id = u.partner_id
    CROSS JOIN LATERAL (
        SELECT (now() AT TIME ZONE COALESCE(NULLIF(up.tz, ''), 'UTC'))::date AS today,
               COALESCE(NULLIF(up.tz, ''), 'UTC') AS tz
    ) d0
    CROSS JOIN LATERAL (
        SELECT d0.today, d0.tz, d0.today - 1 AS yesterday,
               ((d0.today + 1)::timestamp AT TIME ZONE d0.tz) AT TIME ZONE 'UTC' AS tomorrow_start
    ) d
""")
# An open lead or opportunity (not won, not lost), on ``l`` and its stage ``s``
OPEN_LEAD_SQL = SQL("l.active AND NOT COALESCE(s.is_won, FALSE) AND COALESCE(l.probability, 0) < 100")
# Nobody contacted the lead yet: no first response (``crm_lead_first_response.py``: a call, email or
# meeting done, or a first stage move)
FIRST_CONTACT_PENDING_SQL = SQL("l.first_response_date IS NULL")
# An activity of the salesperson on the lead is due today or earlier
FOLLOW_UP_DUE_SQL = SQL("""
    EXISTS (SELECT 1 FROM mail_activity a
             WHERE a.res_model = 'crm.lead' AND a.res_id = l.id AND a.user_id = l.user_id
               AND a.active AND a.date_deadline <= d.today)
""")
# The last call attempt got no answer before today
NO_ANSWER_PENDING_SQL = SQL(
    "l.call_no_answer_date IS NOT NULL"
    " AND (l.call_no_answer_date AT TIME ZONE 'UTC' AT TIME ZONE d.tz)::date < d.today")


class CrmLeadCallQueue(models.Model):
    _name = "crm.lead.call.queue"
    _description = "Call Queue"
    _auto = False
    _order = "queue_rank, priority desc, queue_sort, id"
    _rec_name = "name"
    # what the view reads: Odoo writes these before each search of it (``_flush_search``)
    _depends = {
        "crm.lead": ["name", "type", "user_id", "team_id", "company_id", "stage_id", "partner_id", "contact_name",
                     "phone", "mobile", "priority", "expected_revenue", "create_date", "sla_state", "sla_deadline",
                     "active", "probability", "first_response_date", "call_no_answer_date", "call_held_by_id",
                     "call_held_until"],
        "crm.stage": ["is_won"],
        "res.partner": ["phone", "mobile", "tz"],
        "res.company": ["currency_id"],
        "res.users": ["partner_id"],
        "mail.activity": ["res_model", "res_id", "user_id", "active", "date_deadline"],
    }
    # the queue's phone: the lead's, else its customer's
    PHONE_SQL = SQL("COALESCE(NULLIF(l.phone, ''), NULLIF(l.mobile, ''), NULLIF(p.phone, ''), NULLIF(p.mobile, ''))")

    lead_id = fields.Many2one("crm.lead", readonly=True)
    name = fields.Char("Lead Name", readonly=True)
    type = fields.Selection([("lead", "Lead"), ("opportunity", "Opportunity")], readonly=True)
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    stage_id = fields.Many2one("crm.stage", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    contact_name = fields.Char(readonly=True)
    phone = fields.Char(readonly=True)
    expected_revenue = fields.Monetary(readonly=True, currency_field="company_currency")
    company_currency = fields.Many2one("res.currency", readonly=True)
    lead_create_date = fields.Datetime("Created On", readonly=True)
    queue_group = fields.Selection(
        [("first_contact", "First Contact"), ("follow_up", "Follow-Up Due"), ("no_answer", "No Answer")],
        string="Why Now", readonly=True)
    queue_rank = fields.Integer(readonly=True, aggregator=None)
    queue_sort = fields.Float(readonly=True, aggregator=None)
    priority = fields.Selection(AVAILABLE_PRIORITIES, readonly=True)
    sla_state = fields.Selection(SLA_STATES, string="SLA Status", readonly=True)
    sla_deadline = fields.Datetime("SLA Deadline", readonly=True)
    call_no_answer_date = fields.Datetime("Unanswered On", readonly=True)
    due_activity_id = fields.Many2one("mail.activity", string="Activity Due", readonly=True)
    queue_reason = fields.Char("Why Now (Detail)", compute="_compute_queue_reason",
                               help="What put the lead in the queue, and by when.")
    call_attempt_count = fields.Integer(related="lead_id.call_attempt_count", string="Attempts")

    @property
    def _table_query(self):
        return SQL("""
            SELECT l.id, l.id AS lead_id, l.name, l.type, l.user_id, l.team_id, l.company_id, l.stage_id,
                   l.partner_id, l.contact_name, %(phone)s AS phone, l.priority, l.sla_deadline,
                   l.call_no_answer_date, due.id AS due_activity_id,
                   l.expected_revenue, c.currency_id AS company_currency, l.create_date AS lead_create_date,
                   l.sla_state, q.queue_rank,
                   (ARRAY['first_contact', 'follow_up', 'no_answer'])[q.queue_rank] AS queue_group,
                   CASE WHEN q.queue_rank = 1 THEN EXTRACT(EPOCH FROM l.create_date)
                        ELSE -COALESCE(l.expected_revenue, 0) END AS queue_sort
              FROM crm_lead l
              LEFT JOIN crm_stage s ON s.id = l.stage_id
              LEFT JOIN res_partner p ON p.id = l.partner_id
              LEFT JOIN res_company c ON c.id = l.company_id
              %(day)s
              LEFT JOIN LATERAL (
                SELECT a.id FROM mail_activity a
                 WHERE a.res_model = 'crm.lead' AND a.res_id = l.id AND a.user_id = l.user_id
                   AND a.active AND a.date_deadline <= d.today
                 ORDER BY a.date_deadline, a.id
                 LIMIT 1
              ) due ON TRUE
             CROSS JOIN LATERAL (
                SELECT CASE WHEN %(first_contact)s THEN 1
                            WHEN %(no_answer)s THEN 3
                            WHEN %(follow_up)s THEN 2 END AS queue_rank
             ) q
             WHERE %(open)s AND l.user_id IS NOT NULL AND q.queue_rank IS NOT NULL
               AND l.team_id = ANY(%(process_teams)s) AND %(phone)s IS NOT NULL
        """, day=SALESPERSON_DAY_SQL, first_contact=FIRST_CONTACT_PENDING_SQL,
            no_answer=NO_ANSWER_PENDING_SQL, follow_up=FOLLOW_UP_DUE_SQL, open=OPEN_LEAD_SQL,
            phone=self.PHONE_SQL, process_teams=sorted(self.env["crm.stage"]._get_process_rules().process_teams))

    @api.depends("queue_group", "sla_deadline", "due_activity_id", "call_no_answer_date")
    @api.depends_context("uid", "lang", "tz")
    def _compute_queue_reason(self):
        for row in self:
            if row.queue_group == "first_contact":
                row.queue_reason = self.env._("Not contacted yet; SLA due %(deadline)s",
                                              deadline=format_datetime(self.env, row.sla_deadline, dt_format="short")) \
                    if row.sla_deadline else self.env._("Not contacted yet")
            elif row.queue_group == "follow_up" and row.due_activity_id:
                activity = row.due_activity_id.sudo()
                row.queue_reason = self.env._(
                    "%(activity)s due %(date)s", activity=activity.summary or activity.activity_type_id.name,
                    date=format_date(self.env, activity.date_deadline))
            elif row.queue_group == "no_answer":
                row.queue_reason = self.env._("No answer on %(date)s", date=format_date(
                    self.env, fields.Datetime.context_timestamp(self, row.call_no_answer_date).date()))
            else:
                row.queue_reason = False

    # ------------------------------------------------------------
    # ACTIONS: from the row, without opening the lead
    # ------------------------------------------------------------

    def _leads(self):
        return self.env["crm.lead"].browse(self.lead_id.ids)

    def action_open_lead(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "crm.lead",
            "res_id": self.lead_id.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "name": self.name,
        }

    def action_call_next(self):
        """Open the top lead of the user's queue that nobody holds, and hold it for them for
        ``CALL_HOLD_MINUTES`` minutes (the leads they hold are skipped: "Next" again moves on)."""
        now = fields.Datetime.now()
        queue = self.search([("user_id", "=", self.env.uid)])
        candidates = self.env["crm.lead"].browse(queue.lead_id.ids)
        if not candidates:
            raise UserError(_("Nothing to call now: your queue is empty."))
        # the queue's order, without the leads held (by anyone, the user included) that no other
        # request holds right now either: the first one free is taken
        self.env["crm.lead"].flush_model(["call_held_until"])
        self.env.cr.execute(SQL("""
            SELECT id FROM crm_lead
             WHERE id = ANY(%(ids)s) AND (call_held_until IS NULL OR call_held_until <= %(now)s)
             ORDER BY array_position(%(ids)s, id)
             LIMIT 1
               FOR UPDATE SKIP LOCKED
        """, ids=candidates.ids, now=now))
        row = self.env.cr.fetchone()
        if not row:
            raise UserError(_("Nothing to call now: your queue is empty, or you hold every lead in it."))
        lead = self.env["crm.lead"].browse(row[0])
        lead._write_call_fields({"call_held_by_id": self.env.uid,
                                 "call_held_until": now + timedelta(minutes=CALL_HOLD_MINUTES)})
        return {
            "type": "ir.actions.act_window",
            "res_model": "crm.lead",
            "res_id": lead.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "name": lead.name,
        }

    def action_call_done(self):
        return self._leads().action_call_done()

    def action_call_no_answer(self):
        return self._leads().action_call_no_answer()

    def action_call_schedule_next(self):
        return self._leads().action_call_schedule_next()
