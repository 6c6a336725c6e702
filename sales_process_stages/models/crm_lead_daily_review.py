"""The manager's daily review, one row per salesperson: the counts of the morning stand-up, each
opening the leads behind it. A read-only view on the leads (``_auto = False``); "today" and
"yesterday" are each salesperson's own (their time zone). Each count's condition is one SQL
definition, used for the count and for the leads it opens."""

from odoo import _, fields, models
from odoo.tools import SQL

from .crm_lead_call_queue import FIRST_CONTACT_PENDING_SQL, OPEN_LEAD_SQL, SALESPERSON_DAY_SQL

# count name: (label, SQL condition on the lead ``l``, its stage ``s`` and the day ``d``)
REVIEW_COUNTS = {
    "overdue": SQL("%s AND l.sla_state = 'overdue'", OPEN_LEAD_SQL),
    "due_today": SQL("%s AND l.sla_state IN ('on_track', 'due_soon') AND l.sla_deadline < d.tomorrow_start",
                     OPEN_LEAD_SQL),
    "no_answer": SQL("%s AND (l.call_no_answer_date AT TIME ZONE 'UTC' AT TIME ZONE d.tz)::date = d.yesterday",
                     OPEN_LEAD_SQL),
    "won": SQL("COALESCE(s.is_won, FALSE)"
               " AND (l.date_closed AT TIME ZONE 'UTC' AT TIME ZONE d.tz)::date = d.yesterday"),
    "lost": SQL("NOT l.active AND COALESCE(l.probability, 0) = 0 "
                "AND (l.date_closed AT TIME ZONE 'UTC' AT TIME ZONE d.tz)::date = d.yesterday"),
}


class CrmLeadDailyReview(models.Model):
    _name = "crm.lead.daily.review"
    _description = "Daily Review per Salesperson"
    _auto = False
    _order = "user_id"
    _rec_name = "user_id"
    # what the view reads: Odoo writes these before each search of it (``_flush_search``)
    _depends = {
        "crm.lead": ["user_id", "stage_id", "active", "probability", "sla_state", "sla_deadline",
                     "call_no_answer_date", "date_closed", "first_response_date"],
        "crm.stage": ["is_won"],
        "res.users": ["partner_id"],
        "res.partner": ["tz"],
    }

    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    overdue_count = fields.Integer("Overdue", readonly=True, help="Open leads whose stage SLA is overdue.")
    due_today_count = fields.Integer("Due Today", readonly=True, help="Open leads whose stage SLA ends today.")
    first_contact_count = fields.Integer(
        "First Contacts Waiting", readonly=True, help="Open leads nobody contacted yet.")
    no_answer_count = fields.Integer(
        "No Answer Yesterday", readonly=True, help="Open leads whose last call attempt, yesterday, got no answer.")
    won_count = fields.Integer("Won Yesterday", readonly=True)
    lost_count = fields.Integer("Lost Yesterday", readonly=True)

    def _review_conditions(self):
        return {**REVIEW_COUNTS, "first_contact": SQL("%s AND %s", OPEN_LEAD_SQL, FIRST_CONTACT_PENDING_SQL)}

    @property
    def _table_query(self):
        conditions = self._review_conditions()
        return SQL("""
            SELECT l.user_id AS id, l.user_id, %(counts)s
              FROM crm_lead l
              LEFT JOIN crm_stage s ON s.id = l.stage_id
              %(day)s
             WHERE l.user_id IS NOT NULL
             GROUP BY l.user_id
            HAVING %(any)s
        """, day=SALESPERSON_DAY_SQL,
            counts=SQL(", ").join(
                SQL("COUNT(*) FILTER (WHERE %s) AS %s", condition, SQL.identifier(f"{name}_count"))
                for name, condition in conditions.items()),
            any=SQL(" OR ").join(SQL("COUNT(*) FILTER (WHERE %s) > 0", condition) for condition in conditions.values()))

    def _flush_sources(self):
        """Write what the view reads (``_depends``) before a query of its own reads it."""
        for model_name, field_names in self._depends.items():
            self.env[model_name].flush_model(field_names)

    # ------------------------------------------------------------
    # ACTIONS: the leads behind each count
    # ------------------------------------------------------------

    def _review_titles(self):
        return {
            "overdue": _("Overdue"),
            "due_today": _("Due Today"),
            "first_contact": _("First Contacts Waiting"),
            "no_answer": _("No Answer Yesterday"),
            "won": _("Won Yesterday"),
            "lost": _("Lost Yesterday"),
        }

    def _action_open_leads(self, count):
        self.ensure_one()
        self._flush_sources()
        self.env.cr.execute(SQL("""
            SELECT l.id FROM crm_lead l LEFT JOIN crm_stage s ON s.id = l.stage_id %(day)s
             WHERE l.user_id = %(user)s AND %(condition)s
        """, day=SALESPERSON_DAY_SQL, user=self.user_id.id, condition=self._review_conditions()[count]))
        lead_ids = [row[0] for row in self.env.cr.fetchall()]
        return {
            "type": "ir.actions.act_window",
            "name": _("%(user)s: %(count)s", user=self.user_id.name, count=self._review_titles()[count]),
            "res_model": "crm.lead",
            "view_mode": "list,form",
            "views": [(False, "list"), (False, "form")],
            "domain": [("id", "in", lead_ids)],
            "context": {"active_test": False, "create": False},
        }

    def action_open_overdue(self):
        return self._action_open_leads("overdue")

    def action_open_due_today(self):
        return self._action_open_leads("due_today")

    def action_open_first_contact(self):
        return self._action_open_leads("first_contact")

    def action_open_no_answer(self):
        return self._action_open_leads("no_answer")

    def action_open_won(self):
        return self._action_open_leads("won")

    def action_open_lost(self):
        return self._action_open_leads("lost")
