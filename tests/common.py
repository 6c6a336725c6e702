"""Fixtures shared by the tests of sales_process_stages.

Feature tests subclass :class:`SalesProcessCommon`. It builds on crm's own
``TestCrmCommon`` (addons/crm/tests/common.py), which already provides:

- users ``user_sales_manager`` (sales manager), ``user_sales_leads`` (salesman,
  all leads), ``user_sales_salesman`` (salesman, own documents only), ``user_admin``;
- team ``sales_team_1`` (members: admin, user_sales_leads; leader: user_sales_manager);
- stages ``stage_team1_1`` (New, seq 1), ``stage_team1_2`` (Proposition, seq 5),
  ``stage_team1_won`` (Won, seq 70) of that team, and the shared stages
  ``stage_gen_1`` (seq 3) and ``stage_gen_won`` (won, seq 30); every other stage
  is pushed to sequence 9999;
- ``lead_1`` and helpers such as ``_create_leads_batch``; from ``MailCase``,
  ``mock_datetime_and_now`` and ``flush_tracking``.

On top of that this class names a *plain pipeline*: a team and stages that nobody
configured, so they must behave exactly as in Odoo without the addon. Keep it
generic: feature-specific fixtures belong to the feature's own test class.
"""

import json
from datetime import timedelta

from odoo import fields

from odoo.addons.crm.tests.common import TestCrmCommon
from odoo.addons.mail.tests.common import mail_new_test_user


class SalesProcessCommon(TestCrmCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # a pipeline nobody configured: a team of its own and its stages
        cls.team_plain = cls.sales_team_1
        cls.stage_plain_new = cls.stage_team1_1
        cls.stage_plain_proposition = cls.stage_team1_2
        cls.stage_plain_won = cls.stage_team1_won
        cls.lost_reason = cls.env["crm.lost.reason"].create({"name": "Too expensive"})

    def _queries(self, func):
        """Queries of ``func`` and its flush, from an empty ORM cache (as ``assertQueryCount``
        counts them, the registry's caches warm)."""
        self.env.flush_all()
        self.env.invalidate_all()
        start = self.cr.sql_log_count
        func()
        self.env.flush_all()
        return self.cr.sql_log_count - start

    @classmethod
    def _create_opportunity(cls, **values):
        """An opportunity of the plain pipeline, owned by ``user_sales_salesman``
        (so that user may write it); ``values`` override the defaults."""
        return cls.env["crm.lead"].create(
            {
                "name": "Opportunity",
                "type": "opportunity",
                "team_id": cls.team_plain.id,
                "stage_id": cls.stage_plain_new.id,
                "user_id": cls.user_sales_salesman.id,
                "partner_id": cls.contact_1.id,
                "expected_revenue": 1000.0,
                **values,
            }
        )


class TestSalesProcessCommon(SalesProcessCommon):
    """``team_process`` runs a configured process: New → Offer → Closing → Won.

    - New: mandatory "Call the customer" (salesperson, 1 day), optional "Send the brochure";
    - Offer: requires Expected Revenue and Customer to enter; mandatory "Technical feasibility"
      (the engineer, 2 days) and "Price calculation" (the analyst, 8 hours);
    - Closing: requires a planned activity; mandatory "Attach the signed contract" (needs a file);
    - Won: requires Expected Closing.
    crm's own ``sales_team_1`` and its stages stay unconfigured (plain Odoo).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user_engineer = mail_new_test_user(
            cls.env, login="user_engineer", name="Eve Engineer", email="eve@example.com",
            groups="base.group_user", notification_type="inbox")
        cls.user_analyst = mail_new_test_user(
            cls.env, login="user_analyst", name="Andy Analyst", email="andy@example.com",
            groups="base.group_user", notification_type="inbox")
        cls.team_process = cls.env["crm.team"].create({
            "name": "Process Team",
            "user_id": cls.user_sales_manager.id,
            "member_ids": [(4, cls.user_sales_salesman.id), (4, cls.user_sales_leads.id)],
        })
        Stage = cls.env["crm.stage"]
        cls.stage_new, cls.stage_offer, cls.stage_closing, cls.stage_won = Stage.create([
            {"name": "New lead", "sequence": 101, "team_id": cls.team_process.id},
            {"name": "Send the offer", "sequence": 102, "team_id": cls.team_process.id,
             "required_field_ids": [(6, 0, cls._field_ids("expected_revenue", "partner_id"))]},
            {"name": "Close the deal", "sequence": 103, "team_id": cls.team_process.id,
             "require_next_activity": True},
            {"name": "Won deal", "sequence": 104, "team_id": cls.team_process.id, "is_won": True,
             "required_field_ids": [(6, 0, cls._field_ids("date_deadline"))]},
        ])
        Item = cls.env["crm.stage.checklist.item"]
        cls.item_call, cls.item_brochure, cls.item_feasibility, cls.item_price, cls.item_contract = Item.create([
            {"stage_id": cls.stage_new.id, "name": "Call the customer", "sequence": 1,
             "due_offset": 1, "due_offset_unit": "days"},
            {"stage_id": cls.stage_new.id, "name": "Send the brochure", "sequence": 2, "is_mandatory": False},
            {"stage_id": cls.stage_offer.id, "name": "Technical feasibility", "sequence": 1,
             "responsible_type": "user", "responsible_user_id": cls.user_engineer.id,
             "due_offset": 2, "due_offset_unit": "days"},
            {"stage_id": cls.stage_offer.id, "name": "Price calculation", "sequence": 2,
             "responsible_type": "user", "responsible_user_id": cls.user_analyst.id,
             "due_offset": 8, "due_offset_unit": "hours"},
            {"stage_id": cls.stage_closing.id, "name": "Attach the signed contract",
             "responsible_type": "team_leader", "needs_attachment": True},
        ])
        cls.customer = cls.env["res.partner"].create({"name": "Sunny Roofs Ltd", "email": "roofs@example.com"})

    @classmethod
    def _field_ids(cls, *names):
        return cls.env["ir.model.fields"].search([("model", "=", "crm.lead"), ("name", "in", names)]).ids

    def _new_leads(self, count=1, stage=None, user=None, **values):
        """Opportunities of the process team in ``stage`` (New by default), as ``user``."""
        env = self.env(user=user) if user else self.env
        return env["crm.lead"].create([{
            "name": f"Process lead {index}",
            "type": "opportunity",
            "team_id": self.team_process.id,
            "user_id": (user or self.user_sales_salesman).id,
            "stage_id": (stage or self.stage_new).id,
            **values,
        } for index in range(count)])

    def _complete(self, leads, stage):
        """Tick the mandatory lines of ``stage`` on ``leads`` (their activities are done too)."""
        leads.checklist_line_ids.filtered(
            lambda line: line.stage_id == stage and line.is_mandatory and line.state == "open"
        ).sudo().action_done()

    def _plan_activity(self, leads, days=1):
        for lead in leads:
            lead.activity_schedule("mail.mail_activity_data_call", date_deadline=self._today(days))

    def _today(self, days=0):
        return fields.Date.context_today(self.env["crm.lead"]) + timedelta(days=days)


class JsonRpcMixin:
    """Calls over JSON-RPC as a user would make them from a client (mix in before ``HttpCase``)."""

    def _rpc(self, model, method, args, kwargs=None, login="user_sales_salesman"):
        """Call ``model.method`` over JSON-RPC as ``login``: (result, None) or (None, (error, message))."""
        if getattr(self, "_rpc_login", None) != login:
            self.authenticate(login, login)
            self._rpc_login = login
        response = self.url_open(f"/web/dataset/call_kw/{model}/{method}", data=json.dumps({
            "jsonrpc": "2.0", "method": "call", "id": 1,
            "params": {"model": model, "method": method, "args": args, "kwargs": kwargs or {}},
        }), headers={"Content-Type": "application/json"})
        payload = response.json()
        if "error" in payload:
            data = payload["error"]["data"]
            return None, (data["name"], data["message"])
        return payload.get("result"), None  # Odoo leaves out a None result
