"""Bounds at the door, and sweeps that survive any one record (issue #19).

Every date and duration a user enters is checked where it is entered (``tools/bounds.py``):
each case of the issue is refused over JSON-RPC with a ValidationError naming the field and the
limit, and nothing is written. The sweeps (SLA, customer status) meet records written around
the checks (SQL): the SLA computes with out-of-range activity dates, and a record that cannot
be processed is logged and skipped while the others are processed (``tools/sweep.py``). The
sweeps are the scheduler's: a salesman running their server action is refused.
"""

from datetime import date, datetime, timedelta

from odoo import fields
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from odoo.addons.sales_process_stages.tools import bounds

from .common import JsonRpcMixin, TestSalesProcessCommon
from .test_sla import FRI_16_NY, SlaCommon

SWEEP_LOGGER = "odoo.addons.sales_process_stages.tools.sweep"
VALIDATION_ERROR = "odoo.exceptions.ValidationError"


@tagged("post_install", "-at_install")
class TestBoundsRpc(TestSalesProcessCommon, JsonRpcMixin, HttpCase):
    """Each measured case, over JSON-RPC as the salesman (the stage and pipeline settings as the
    sales manager: a salesman may not write them at all)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stage_new.write({"sla_enabled": True, "sla_duration": 2, "sla_duration_unit": "days",
                             "sla_activity_aware": True})
        cls.lead = cls._create_process_lead()

    @classmethod
    def _create_process_lead(cls):
        return cls.env["crm.lead"].create({
            "name": "Bounded lead", "type": "opportunity", "team_id": cls.team_process.id,
            "stage_id": cls.stage_new.id, "user_id": cls.user_sales_salesman.id,
            "partner_id": cls.customer.id, "expected_revenue": 500,
        })

    def assertRefused(self, error, *fragments):
        self.assertIsNotNone(error, "refused")
        self.assertEqual(error[0], VALIDATION_ERROR, error)
        for fragment in fragments:
            self.assertIn(fragment, error[1])

    def _today(self, days=0):
        """Today for the salesman (his time zone: the server checks in the user's day)."""
        salesman_leads = self.env["crm.lead"].with_user(self.user_sales_salesman)
        return fields.Date.context_today(salesman_leads) + timedelta(days=days)

    # ------------------------------------------------------------
    # activities of a lead (the SLA reads their due dates)
    # ------------------------------------------------------------

    def test_activity_due_9999_refused(self):
        """An activity due 9999-12-31 (the SLA sweep failed on it once the lead's hold ended) is
        refused when created and when its date is moved; 10 years ahead is the limit."""
        __, error = self._rpc("crm.lead", "write", [self.lead.ids, {
            "sla_hold_until": str(self._today(10)), "sla_hold_reason": "Customer on vacation"}])
        self.assertIsNone(error)
        model_id = self.env["ir.model"]._get_id("crm.lead")
        todo = self.env.ref("mail.mail_activity_data_todo").id
        values = {"res_model_id": model_id, "res_id": self.lead.id, "activity_type_id": todo,
                  "summary": "Far away", "user_id": self.user_sales_salesman.id}
        Activity = self.env["mail.activity"]
        before = Activity.search_count([("res_model", "=", "crm.lead"), ("res_id", "=", self.lead.id)])
        __, error = self._rpc("mail.activity", "create", [{**values, "date_deadline": "9999-12-31"}])
        latest = self._today() + timedelta(days=366 * bounds.ACTIVITY_DEADLINE_YEARS)
        self.assertRefused(error, "Due Date", "9999-12-31")
        self.assertEqual(Activity.search_count([("res_model", "=", "crm.lead"), ("res_id", "=", self.lead.id)]),
                         before, "nothing written")
        # the limits: within ten years of today
        __, error = self._rpc("mail.activity", "create", [{**values, "date_deadline": str(latest)}])
        self.assertRefused(error)
        activity_id, error = self._rpc("mail.activity", "create", [{**values, "date_deadline": str(self._today(30))}])
        self.assertIsNone(error)
        __, error = self._rpc("mail.activity", "write", [[activity_id], {"date_deadline": "9999-12-31"}])
        self.assertRefused(error, "Due Date")
        self.assertEqual(Activity.browse(activity_id).date_deadline, self._today(30), "nothing written")
        # the hold ends: the SLA computes (the sweep's step, in short)
        self.lead.action_sla_resume()
        self.assertEqual(self.lead.sla_state, "on_track")

    # ------------------------------------------------------------
    # closing dates
    # ------------------------------------------------------------

    def test_closing_date_9999_refused(self):
        """A won deal's Closed Date set to 9999-06-01 through "lead" and back (the customer
        turned prospect, then every later win of the customer failed) is refused; so is an
        Expected Closing out of the bounds."""
        self.lead.sudo().write({"date_deadline": self._today(5)})
        self.lead.checklist_line_ids.sudo().action_done()
        self.lead.sudo().write({"stage_id": self.stage_won.id})
        self.assertEqual(self.customer.customer_status, "new")
        closed = self.lead.date_closed
        for vals in ({"type": "lead", "date_closed": "9999-06-01 00:00:00"},
                     {"date_closed": "9999-06-01 00:00:00"}, {"date_closed": "1899-12-31 00:00:00"}):
            with self.subTest(vals=vals):
                __, error = self._rpc("crm.lead", "write", [self.lead.ids, vals])
                self.assertRefused(error, "Closed Date", "1900-01-01")
                self.lead.invalidate_recordset()
                self.assertEqual((self.lead.type, self.lead.date_closed), ("opportunity", closed), "nothing written")
        self.customer.invalidate_recordset()
        self.assertEqual(self.customer.customer_status, "new")
        __, error = self._rpc("crm.lead", "write", [self.lead.ids, {"date_deadline": "9999-12-31"}])
        self.assertRefused(error, "Expected Closing", "9999-12-31")
        # within the bounds: written
        __, error = self._rpc("crm.lead", "write", [self.lead.ids, {"date_closed": "2020-03-01 10:00:00"}])
        self.assertIsNone(error)
        self.assertEqual(self.lead.date_closed, datetime(2020, 3, 1, 10, 0))
        # a new lead with such a date neither
        __, error = self._rpc("crm.lead", "create", [{"name": "Far", "type": "opportunity",
                                                      "team_id": self.team_process.id,
                                                      "date_deadline": "9999-12-31"}])
        self.assertRefused(error, "Expected Closing")
        self.assertFalse(self.env["crm.lead"].search([("name", "=", "Far")]))

    # ------------------------------------------------------------
    # holds
    # ------------------------------------------------------------

    def test_hold_until_9999_refused(self):
        """A hold until 9999-12-31 (the SLA off for 8,000 years) is refused: a year at most."""
        for value, fragment in (("9999-12-31", "at most 366 days"), (str(self._today(367)), "at most 366 days"),
                                ("not a date", "is a date"), ([2030, 1, 1], "is a date")):
            with self.subTest(value=value):
                __, error = self._rpc("crm.lead", "write", [self.lead.ids, {
                    "sla_hold_until": value, "sla_hold_reason": "Customer on vacation"}])
                self.assertRefused(error, fragment)
                self.lead.invalidate_recordset()
                self.assertFalse(self.lead.sla_hold_until, "nothing written")
                self.assertFalse(self.lead.sla_hold_reason)
        __, error = self._rpc("crm.lead", "write", [self.lead.ids, {
            "sla_hold_until": str(self._today(366)), "sla_hold_reason": "Customer on vacation"}])
        self.assertIsNone(error)
        self.assertEqual(self.lead.sla_hold_until, self._today(366))

    # ------------------------------------------------------------
    # durations of the settings
    # ------------------------------------------------------------

    def test_checklist_due_offset_refused(self):
        """A checklist item due 2,000,000,000 days after the stage starts (every lead entering the
        stage failed) is refused: 3650 days at most (87,600 hours)."""
        item = self.item_call
        for vals in ({"due_offset": 2_000_000_000}, {"due_offset": 3651, "due_offset_unit": "days"},
                     {"due_offset": 87_601, "due_offset_unit": "hours"}, {"due_offset": -1}):
            with self.subTest(vals=vals):
                __, error = self._rpc("crm.stage.checklist.item", "write", [item.ids, vals],
                                      login="user_sales_manager")
                self.assertRefused(error, "Due After", "Call the customer")
                item.invalidate_recordset()
                self.assertEqual((item.due_offset, item.due_offset_unit), (1, "days"), "nothing written")
        __, error = self._rpc("crm.stage.checklist.item", "create", [{
            "stage_id": self.stage_new.id, "name": "Much later", "due_offset": 2_000_000_000}],
            login="user_sales_manager")
        self.assertRefused(error, "Due After")
        self.assertFalse(self.env["crm.stage.checklist.item"].search([("name", "=", "Much later")]))
        __, error = self._rpc("crm.stage.checklist.item", "write", [item.ids, {"due_offset": 3650}],
                              login="user_sales_manager")
        self.assertIsNone(error)

    def test_call_retry_delay_refused(self):
        """A call retry delay of 2,000,000,000 days (every "No Answer" failed) is refused: a year at most."""
        team = self.team_process
        for vals in ({"call_retry_delay": 2_000_000_000}, {"call_retry_delay": 366},
                     {"call_retry_delay": 8761, "call_retry_delay_unit": "hours"}):
            with self.subTest(vals=vals):
                __, error = self._rpc("crm.team", "write", [team.ids, vals], login="user_sales_manager")
                self.assertRefused(error, "Retry After", "Process Team")
                team.invalidate_recordset()
                self.assertEqual((team.call_retry_delay, team.call_retry_delay_unit), (1, "days"), "nothing written")
        __, error = self._rpc("crm.team", "write", [team.ids, {"call_retry_delay": 365}], login="user_sales_manager")
        self.assertIsNone(error)

    def test_sla_duration_refused(self):
        """An SLA of 1e12 days (an internal error) is refused with a message: 3650 days at most, in
        the stage's unit; the "due soon" and leader delays too."""
        stage = self.stage_new
        for vals, fragment in (
            ({"sla_duration": 1e12}, "SLA Duration"),
            ({"sla_duration": 3651}, "SLA Duration"),
            ({"sla_duration": 87_601, "sla_duration_unit": "hours"}, "87600"),
            ({"sla_duration": 5_256_001, "sla_duration_unit": "minutes"}, "5256000"),
            ({"sla_notify_leader": True, "sla_leader_delay": 1e12}, "Notify Leader After"),
            ({"sla_due_soon_type": "before", "sla_due_soon_before": 1e12, "sla_due_soon_before_unit": "hours",
              "sla_duration": 1e12}, "SLA Duration"),
        ):
            with self.subTest(vals=vals):
                __, error = self._rpc("crm.stage", "write", [stage.ids, vals], login="user_sales_manager")
                self.assertRefused(error, fragment, "New lead")
                stage.invalidate_recordset()
                self.assertEqual((stage.sla_duration, stage.sla_duration_unit, stage.sla_notify_leader),
                                 (2, "days", False), "nothing written")
        __, error = self._rpc("crm.stage", "write", [stage.ids, {"sla_duration": 3650}], login="user_sales_manager")
        self.assertIsNone(error)

    # ------------------------------------------------------------
    # wrong types
    # ------------------------------------------------------------

    def test_stage_given_as_a_list_or_a_dict_refused(self):
        """``stage_id`` as a list, a dict or a string (internal errors) gets a message."""
        for value in ([self.stage_offer.id], {"id": self.stage_offer.id}, str(self.stage_offer.id),
                      [self.stage_offer.id, "Offer"]):
            with self.subTest(value=value):
                __, error = self._rpc("crm.lead", "write", [self.lead.ids, {"stage_id": value}])
                self.assertRefused(error, "Stage", "id of a record")
                self.lead.invalidate_recordset()
                self.assertEqual(self.lead.stage_id, self.stage_new, "nothing written")
                __, error = self._rpc("crm.lead", "create", [{"name": "Typed", "type": "opportunity",
                                                              "team_id": self.team_process.id, "stage_id": value}])
                self.assertRefused(error, "Stage")
        self.assertFalse(self.env["crm.lead"].search([("name", "=", "Typed")]))

    # ------------------------------------------------------------
    # the sweeps are the scheduler's
    # ------------------------------------------------------------

    def test_a_salesman_cannot_run_the_sweeps(self):
        """The seeded crons' server actions run for the scheduler (and administrators), not for a
        salesman calling ``ir.actions.server.run``; the crons themselves still run."""
        self.lead.sudo().write({"sla_hold_until": self._today(3), "sla_hold_reason": "Customer on vacation"})
        self.env.flush_all()
        # the hold ended (a sweep would resume it)
        self.env.cr.execute("UPDATE crm_lead SET sla_resume_date = now() at time zone 'UTC' - interval '1 hour' "
                            "WHERE id = %s", [self.lead.id])
        self.lead.invalidate_recordset()
        for xmlid in ("sales_process_stages.ir_cron_crm_lead_sla_sweep",
                      "sales_process_stages.ir_cron_res_partner_customer_status"):
            cron = self.env.ref(xmlid)
            with self.subTest(cron=xmlid):
                __, error = self._rpc("ir.actions.server", "run", [cron.ir_actions_server_id.ids])
                self.assertIsNotNone(error, "refused")
                self.assertIn(error[0], (VALIDATION_ERROR, "odoo.exceptions.AccessError"))
                if error[0] == VALIDATION_ERROR:
                    self.assertIn("run by the scheduler", error[1])
        self.lead.invalidate_recordset()
        self.assertTrue(self.lead.sla_hold_until, "the sweep did not run")
        # the scheduler's run (as its user, the superuser), an administrator's too
        self.env.ref("sales_process_stages.ir_cron_crm_lead_sla_sweep").with_user(self.user_admin) \
            .method_direct_trigger()
        self.lead.invalidate_recordset()
        self.assertFalse(self.lead.sla_hold_until, "the cron resumed the hold")
        self.env.ref("sales_process_stages.ir_cron_res_partner_customer_status").with_user(self.user_admin) \
            .method_direct_trigger()
        self.assertEqual(self.env["res.partner"].with_user(self.user_admin)._cron_update_customer_status(), 0)


# ------------------------------------------------------------
# the sweeps over a database holding a poisoned record
# ------------------------------------------------------------

@tagged("sales_process_stages", "sla")
class TestSlaSweepSurvives(SlaCommon):
    """Leads on hold in "Proposition" (48 calendar hours, planned activities extend the SLA)
    whose holds end: the sweep resumes them all but the one it cannot process."""

    def _leads_on_hold(self, count):
        with self.mock_datetime_and_now(FRI_16_NY):
            leads = self.env["crm.lead"].create([{
                "name": f"Held {index}", "type": "opportunity", "team_id": self.sales_team_1.id,
                "stage_id": self.stage_proposition.id, "user_id": self.user_sales_salesman.id,
            } for index in range(count)])
            leads.write({"sla_hold_until": date(2024, 6, 10), "sla_hold_reason": "Customer on vacation"})
        self.assertEqual(set(leads.mapped("sla_state")), {"none"})
        return leads

    def test_activity_due_9999_in_the_database(self):
        """An activity due 9999-12-31 written around the checks: the hold ends, the SLA is computed
        (the date counts at its bound, ten years ahead), the other leads too; the manager still
        edits the stage's SLA."""
        leads = self._leads_on_hold(3)
        poisoned = leads[1]
        with self.mock_datetime_and_now(FRI_16_NY):
            activity = poisoned.activity_schedule("mail.mail_activity_data_call", date_deadline=date(2024, 6, 20))
        self.env.flush_all()
        self.env.cr.execute("UPDATE mail_activity SET date_deadline = '9999-12-31' WHERE id = %s", [activity.id])
        activity.invalidate_recordset()
        resume_at = datetime(2024, 6, 10, 12, 0)
        self._sweep(resume_at)
        self.assertFalse(any(leads.mapped("sla_hold_until")), "every hold ended")
        self.assertEqual(set(leads.mapped("sla_state")), {"on_track"})
        self.assertEqual(poisoned.sla_deadline.date(), date(2034, 6, 11), "at the bound: the end of 2034-06-10")
        self.assertEqual(leads[0].sla_deadline, resume_at + timedelta(hours=48),
                         "the others as always: on hold since they entered")
        # the manager edits the stage's SLA: its leads are computed again, the poisoned one too
        with self.mock_datetime_and_now(resume_at):
            self.stage_proposition.with_user(self.user_sales_manager).write({"sla_duration": 72})
        self.assertEqual(self.stage_proposition.sla_duration, 72)

    def test_a_lead_that_cannot_be_processed_is_skipped(self):
        """A stage's SLA of 1e12 days written around the checks: the hold of its lead cannot end (its
        deadline overflows); it is logged and skipped, the other holds end, the sweep goes on."""
        leads = self._leads_on_hold(4)
        with self.mock_datetime_and_now(FRI_16_NY):
            overdue = self.env["crm.lead"].create({
                "name": "Overdue", "type": "opportunity", "team_id": self.sales_team_1.id,
                "stage_id": self.stage_new.id, "user_id": self.user_sales_salesman.id,
            })
            poisoned_stage = self.env["crm.stage"].create({
                "name": "Poisoned", "team_id": self.sales_team_1.id, "sequence": 6, "sla_enabled": True,
                "sla_duration": 10, "sla_duration_unit": "days",
            })
            poisoned = leads[2]
            poisoned.write({"stage_id": poisoned_stage.id, "sla_hold_until": date(2024, 6, 10),
                            "sla_hold_reason": "Customer on vacation"})
        self.env.flush_all()
        self.env.cr.execute("UPDATE crm_stage SET sla_duration = 1e12 WHERE id = %s", [poisoned_stage.id])
        self.env.registry.clear_cache()
        self.env.invalidate_all()
        with self.assertLogs(SWEEP_LOGGER, "WARNING") as logs:
            # Tuesday: the holds ended, the lead in New is overdue since Monday 16:00 NY
            done = self._sweep(datetime(2024, 6, 11, 12, 0))
        self.assertEqual(len(logs.records), 1, logs.output)
        self.assertIn(f"crm.lead({poisoned.id},)", logs.output[0])
        self.assertIn("skipped", logs.output[0])
        self.assertEqual(poisoned.sla_hold_until, date(2024, 6, 10), "skipped: still on hold")
        others = leads - poisoned
        self.assertFalse(any(others.mapped("sla_hold_until")), "the other holds ended")
        self.assertEqual(set(others.mapped("sla_state")), {"on_track"})
        self.assertEqual(overdue.sla_state, "overdue", "the sweep went on: states, escalations")
        self.assertTrue(self._sla_activities(overdue))
        self.assertGreaterEqual(done, 5)


@tagged("sales_process_stages", "customer_status")
class TestCustomerStatusSweepSurvives(TestSalesProcessCommon):
    """Customers whose won deals leave the last months; one deal's Closed Date is 9999-06-01
    (written around the checks): its customer is logged and skipped, the others lapse."""

    def test_a_customer_that_cannot_be_processed_is_skipped(self):
        t0 = datetime(2024, 1, 15, 10, 0)
        customers = self.env["res.partner"].create([{"name": f"Customer {index}"} for index in range(5)])
        with self.mock_datetime_and_now(t0):
            leads = self.env["crm.lead"].create([{
                "name": f"Deal {index}", "type": "opportunity", "team_id": self.team_plain.id,
                "stage_id": self.stage_plain_new.id, "partner_id": customer.id,
            } for index, customer in enumerate(customers)])
            leads.action_set_won()
        self.assertEqual(set(customers.mapped("customer_status")), {"new"})
        poisoned = customers[3]
        self.env.flush_all()
        self.env.cr.execute("UPDATE crm_lead SET date_closed = '9999-06-01' WHERE id = %s", [leads[3].id])
        self.env.invalidate_all()
        # a year and a month later every deal left the last months: each customer is due
        later = datetime(2025, 2, 20, 10, 0)
        with self.mock_datetime_and_now(later), self.assertLogs(SWEEP_LOGGER, "WARNING") as logs:
            self.env["res.partner"]._cron_update_customer_status(batch_size=10)
        self.assertEqual(len(logs.records), 1, logs.output)
        self.assertIn(f"res.partner({poisoned.id},)", logs.output[0])
        self.assertEqual(poisoned.customer_status, "new", "skipped: unchanged")
        self.assertEqual(set((customers - poisoned).mapped("customer_status")), {"lapsed"}, "the others processed")
        # in batches smaller than the poisoned one's: the others still go on
        with self.mock_datetime_and_now(later), mute_logger(SWEEP_LOGGER):
            self.assertGreaterEqual(self.env["res.partner"]._cron_update_customer_status(batch_size=1), 1)
        self.assertEqual(poisoned.customer_status, "new")

    def test_settings_changed_every_contact_survives(self):
        """After the settings change every contact is computed again: the poisoned customer is
        skipped there too, the others follow the new settings."""
        t0 = datetime(2024, 1, 15, 10, 0)
        customers = self.env["res.partner"].create([{"name": f"Customer {index}"} for index in range(3)])
        with self.mock_datetime_and_now(t0):
            leads = self.env["crm.lead"].create([{
                "name": f"Deal {index}", "type": "opportunity", "team_id": self.team_plain.id,
                "stage_id": self.stage_plain_new.id, "partner_id": customer.id,
            } for index, customer in enumerate(customers)])
            leads.action_set_won()
            self.env["res.partner"]._cron_update_customer_status()
        self.env.flush_all()
        self.env.cr.execute("UPDATE crm_lead SET date_closed = '9999-06-01' WHERE id = %s", [leads[0].id])
        self.env.invalidate_all()
        self.env["ir.config_parameter"].set_param("sales_process_stages.customer_regular_count", "1")
        with self.mock_datetime_and_now(t0 + timedelta(days=1)), self.assertLogs(SWEEP_LOGGER, "WARNING") as logs:
            self.env["res.partner"]._cron_update_customer_status()
        self.assertTrue(all(f"res.partner({customers[0].id},)" in line for line in logs.output), logs.output)
        self.assertEqual(customers[0].customer_status, "new", "skipped: unchanged")
        self.assertEqual(set(customers[1:].mapped("customer_status")), {"regular"}, "the others processed")
