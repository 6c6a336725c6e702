"""The rep's day: call attempts (Call Done, No Answer, the retry, the "no answer" loss), the call
queue and the daily review per salesperson."""
import json
import logging
from datetime import datetime, timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, freeze_time, tagged, users

from .common import TestSalesProcessCommon

_logger = logging.getLogger(__name__)


class CallsCommon(TestSalesProcessCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.call_type = cls.env.ref("mail.mail_activity_data_call")
        cls.no_answer_reason = cls.env.ref("sales_process_stages.lost_reason_no_answer")
        # a working week of 8 hours a day, Monday to Friday, in UTC
        cls.calendar = cls.env["resource.calendar"].create({"name": "Office hours", "tz": "UTC"})
        cls.team_process.resource_calendar_id = cls.calendar
        for user in (cls.user_sales_salesman, cls.user_sales_leads, cls.user_sales_manager):
            user.tz = "UTC"

    def _attempts_messages(self, lead):
        return lead.message_ids.filtered(lambda message: message.mail_activity_type_id == self.call_type)


@tagged("post_install", "-at_install")
class TestCallAttempts(CallsCommon):

    def test_no_answer_logs_the_attempt_and_plans_the_next_on_the_next_working_day(self):
        lead = self._new_leads()
        stage = lead.stage_id
        with self.mock_datetime_and_now(datetime(2026, 3, 6, 15, 0)):  # a Friday afternoon
            action = lead.with_user(self.user_sales_salesman).action_call_no_answer()
        self.assertIs(action, True, "one attempt: no loss offered")
        self.assertEqual(lead.stage_id, stage, "the lead stays where it is")
        self.assertEqual(lead.call_attempt_count, 1)
        self.assertEqual(len(self._attempts_messages(lead)), 1, "the attempt is a completed call in the chatter")
        self.assertIn("No answer", self._attempts_messages(lead).body)
        self.assertEqual(lead.call_no_answer_date, datetime(2026, 3, 6, 15, 0))
        retry = lead.activity_ids.filtered(lambda activity: activity.activity_type_id == self.call_type)
        self.assertEqual(len(retry), 1)
        self.assertEqual(retry.date_deadline, fields.Date.to_date("2026-03-09"), "Monday, the next working day")
        self.assertEqual(retry.user_id, self.user_sales_salesman)
        self.assertEqual(retry.summary, "Call again (attempt 2)")
        # the next No Answer completes that planned call rather than logging another one
        with self.mock_datetime_and_now(datetime(2026, 3, 9, 10, 0)):
            lead.with_user(self.user_sales_salesman).action_call_no_answer()
        self.assertFalse(retry.exists())
        self.assertEqual(lead.call_attempt_count, 2)
        retry = lead.activity_ids.filtered(lambda activity: activity.activity_type_id == self.call_type)
        self.assertEqual(retry.date_deadline, fields.Date.to_date("2026-03-10"))

    def test_retry_delay_in_working_hours_and_bad_delays(self):
        self.team_process.write({"call_retry_delay": 4, "call_retry_delay_unit": "hours"})
        lead = self._new_leads()
        with self.mock_datetime_and_now(datetime(2026, 3, 6, 15, 0)):  # 2 working hours left on Friday
            lead.action_call_no_answer()
        retry = lead.activity_ids.filtered(lambda activity: activity.activity_type_id == self.call_type)
        self.assertEqual(retry.date_deadline, fields.Date.to_date("2026-03-09"), "4 working hours: Monday")
        with self.assertRaises(ValidationError) as error:
            self.team_process.call_retry_delay = -1
        self.assertIn("cannot be negative", str(error.exception))
        with self.assertRaises(AccessError):
            self.team_process.with_user(self.user_sales_salesman).call_retry_delay = 2
        self.assertEqual(self.team_process.call_retry_delay, 4)

    def test_no_answer_keeps_the_checklist_call_open_and_due_at_the_retry(self):
        self.item_call.activity_type_id = self.call_type
        lead = self._new_leads()
        line = lead.checklist_line_ids.filtered(lambda line: line.item_id == self.item_call)
        activity = line.activity_id
        with self.mock_datetime_and_now(datetime(2026, 3, 6, 15, 0)):
            lead.action_call_no_answer()
        self.assertEqual(line.state, "open", "an attempt without an answer does not do the item")
        self.assertEqual(line.activity_id, activity)
        self.assertEqual(line.date_deadline, fields.Date.to_date("2026-03-09"), "due at the next attempt")
        self.assertEqual(activity.date_deadline, line.date_deadline)
        self.assertEqual(lead.call_attempt_count, 1)
        self.assertEqual(len(lead.activity_ids.filtered(lambda a: a.activity_type_id == self.call_type)), 1,
                         "no second call planned beside the item's")
        # the call that reaches the customer does the item
        lead.action_call_done()
        self.assertEqual(line.state, "done")
        self.assertEqual(lead.call_attempt_count, 2)
        self.assertFalse(lead.call_no_answer_date)

    def test_call_done_records_a_call_and_resets_nothing(self):
        lead = self._new_leads()
        lead.action_call_no_answer()
        retry = lead.activity_ids.filtered(lambda activity: activity.activity_type_id == self.call_type)
        lead.with_user(self.user_sales_salesman).action_call_done()
        self.assertFalse(retry.exists(), "the planned call is the one done")
        self.assertEqual(lead.call_attempt_count, 2, "attempts are not reset")
        self.assertFalse(lead.call_no_answer_date)
        lead.action_call_done()
        self.assertEqual(lead.call_attempt_count, 3, "no planned call: one is logged done")

    def test_attempts_reaching_the_no_answer_reason_offer_the_loss_with_it(self):
        """The attempts the lead counts are what the "no answer" lost reason checks: one rule."""
        self.team_process.lost_reason_required = True
        lead = self._new_leads()
        for __ in range(5):
            self.assertIs(lead.action_call_no_answer(), True)
        self.assertEqual(lead.call_attempt_count, 5)
        with self.assertRaises(UserError) as error:
            lead.with_user(self.user_sales_salesman).action_set_lost(lost_reason_id=self.no_answer_reason.id)
        self.assertIn("(5 done)", str(error.exception), "the rule counts what the lead shows")
        action = lead.with_user(self.user_sales_salesman).action_call_no_answer()
        self.assertEqual(lead.call_attempt_count, 6)
        self.assertEqual(action["res_model"], "crm.lead.lost")
        self.assertEqual(action["context"]["default_lost_reason_id"], self.no_answer_reason.id)
        self.assertEqual(action["context"]["active_ids"], lead.ids)
        wizard = self.env["crm.lead.lost"].with_user(self.user_sales_salesman).with_context(
            action["context"]).create({"lead_ids": [(6, 0, lead.ids)]})
        self.assertEqual(wizard.lost_reason_id, self.no_answer_reason)
        wizard.action_lost_reason_apply()
        self.assertFalse(lead.active)
        self.assertEqual(lead.lost_reason_id, self.no_answer_reason)

    def test_no_answer_from_the_planned_call_itself(self):
        lead = self._new_leads()
        planned = lead.activity_schedule("mail.mail_activity_data_call", user_id=self.user_sales_salesman.id,
                                         date_deadline=self._today())
        result = planned.with_user(self.user_sales_salesman).action_call_no_answer()
        self.assertEqual(result, {"type": "ir.actions.act_window_close"})
        self.assertFalse(planned.exists(), "the planned call is done, as an attempt")
        self.assertEqual(lead.call_attempt_count, 1)
        self.assertTrue(lead.call_no_answer_date)
        self.assertEqual(len(lead.activity_ids.filtered(lambda a: a.activity_type_id == self.call_type)), 1,
                         "the next attempt is planned")
        arch = self.env["mail.activity"].get_views([(self.env.ref("mail.mail_activity_view_form_popup").id,
                                                      "form")])["views"]["form"]["arch"]
        self.assertIn('name="action_call_no_answer"', arch)

    def test_schedule_next_opens_odoos_dialog_for_a_call(self):
        lead = self._new_leads()
        action = lead.action_call_schedule_next()
        self.assertEqual(action["res_model"], "mail.activity.schedule")
        wizard = self.env["mail.activity.schedule"].with_context(action["context"]).create({})
        self.assertEqual(wizard.activity_type_id, self.call_type)
        wizard.action_schedule_activities()
        self.assertEqual(lead.activity_ids.filtered(lambda a: a.activity_type_id == self.call_type).user_id,
                         self.env.user)

    @users("user_sales_salesman")
    def test_a_salesman_cannot_log_calls_on_leads_he_may_not_edit(self):
        other = self._new_leads(user=self.env(user=self.user_sales_leads).user).with_user(self.env.user)
        other.sudo().user_id = self.user_sales_leads
        with self.assertRaises(AccessError):
            other.action_call_no_answer()
        with self.assertRaises(UserError):
            self._new_leads(user=self.env.user).write({"call_no_answer_date": fields.Datetime.now()})
        self.assertEqual(other.sudo().call_attempt_count, 0, "nothing logged")
        self.assertFalse(other.sudo().call_no_answer_date)


@tagged("post_install", "-at_install", "sps_performance")
class TestCallAttemptsPerformance(CallsCommon):

    def test_no_answer_on_many_leads(self):
        """No Answer on 1, 10 and 100 leads in one call: beyond what Odoo's own feedback costs for each
        done activity (a message posted per lead), a bounded number of queries."""
        ours, odoo = {}, {}
        self._new_leads(2).with_user(self.user_sales_manager).action_call_no_answer()
        for size in (1, 10, 100):
            leads = self._new_leads(size).with_user(self.user_sales_manager)
            ours[size] = self._queries(leads.action_call_no_answer)
            self.assertEqual(len(leads.activity_ids.filtered(lambda a: a.activity_type_id == self.call_type)), size)
            planned = self.env["mail.activity"].with_context(mail_activity_quick_update=True).create([{
                "res_model_id": self.env["ir.model"]._get_id("crm.lead"), "res_id": lead.id,
                "activity_type_id": self.call_type.id, "user_id": self.user_sales_manager.id,
            } for lead in self._new_leads(size)]).with_user(self.user_sales_manager)
            odoo[size] = self._queries(lambda planned=planned: planned.action_feedback(feedback="No answer"))
        _logger.info("queries of No Answer on 1/10/100 leads: %s; Odoo's feedback alone: %s", ours, odoo)
        self.assertLessEqual((ours[100] - odoo[100]) - (ours[10] - odoo[10]), 10, (ours, odoo))


@tagged("post_install", "-at_install")
class TestCallAttemptsRpc(CallsCommon, HttpCase):

    def test_no_answer_over_rpc_in_batch(self):
        leads = self._new_leads(3)
        self.authenticate("user_sales_salesman", "user_sales_salesman")
        response = self.url_open("/web/dataset/call_kw/crm.lead/action_call_no_answer", data=json.dumps({
            "jsonrpc": "2.0", "method": "call", "id": 1,
            "params": {"model": "crm.lead", "method": "action_call_no_answer", "args": [leads.ids], "kwargs": {}},
        }), headers={"Content-Type": "application/json"})
        self.assertEqual(response.json()["result"], True)
        leads.invalidate_recordset()
        self.assertEqual(leads.mapped("call_attempt_count"), [1, 1, 1])
        # a client cannot write the process's call fields
        response = self.url_open("/web/dataset/call_kw/crm.lead/write", data=json.dumps({
            "jsonrpc": "2.0", "method": "call", "id": 2,
            "params": {"model": "crm.lead", "method": "write",
                       "args": [leads.ids, {"call_no_answer_date": False}], "kwargs": {}},
        }), headers={"Content-Type": "application/json"})
        self.assertEqual(response.json()["error"]["data"]["name"], "odoo.exceptions.ValidationError")
        leads.invalidate_recordset()
        self.assertTrue(all(leads.mapped("call_no_answer_date")))


@tagged("post_install", "-at_install")
class TestCallQueue(CallsCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # a stage without items keeps the leads free of checklist activities; its pipeline is
        # configured (a pipeline nobody configured has no queue)
        cls.team_plain.lost_reason_required = True
        cls.leads = cls.env["crm.lead"].create([{
            "name": name, "type": "opportunity", "team_id": cls.team_plain.id, "stage_id": cls.stage_plain_new.id,
            "user_id": cls.user_sales_salesman.id, "expected_revenue": revenue, "phone": "+32 2 290 34 90",
        } for name, revenue in [("New recent", 20), ("Follow small", 100), ("Follow big", 900),
                                ("Tomorrow", 5000), ("No answer", 300), ("Won", 50), ("Other rep", 70)]])
        # created three days ago (the ORM dates a creation with the transaction's time: as MailCase moves it)
        past = fields.Datetime.now() - timedelta(days=3)
        with freeze_time(past), patch.object(cls.env.cr, "now", lambda: past):
            cls.new_old = cls.env["crm.lead"].create({
                "name": "New old", "type": "opportunity", "team_id": cls.team_plain.id,
                "stage_id": cls.stage_plain_new.id, "user_id": cls.user_sales_salesman.id, "expected_revenue": 10,
                "phone": "+32 2 290 34 91"})
        cls.new_recent, cls.follow_small, cls.follow_big, cls.tomorrow, cls.no_answer, cls.won, \
            cls.other_rep = cls.leads
        cls.leads |= cls.new_old
        now = fields.Datetime.now()
        today = fields.Date.today()  # the salesperson's day: their time zone is UTC
        # contacted leads: a call done, then a follow-up (or none)
        contacted = cls.follow_small | cls.follow_big | cls.tomorrow | cls.no_answer | cls.won | cls.other_rep
        contacted.action_call_done()
        for lead, days in ((cls.follow_small, 0), (cls.follow_big, -2), (cls.tomorrow, 1)):
            lead.activity_schedule("mail.mail_activity_data_todo", date_deadline=today + timedelta(days=days),
                                   user_id=cls.user_sales_salesman.id)
        cls.no_answer.action_call_no_answer()
        cls.no_answer.sudo().write({"call_no_answer_date": now - timedelta(days=1)})
        cls.won.action_set_won()
        cls.other_rep.user_id = cls.user_sales_leads
        cls.other_rep.activity_schedule("mail.mail_activity_data_todo", date_deadline=today,
                                        user_id=cls.user_sales_leads.id)

    def _queue(self):
        return self.env["crm.lead.call.queue"].search(
            [("lead_id", "in", self.leads.ids)] + (
                [] if self.env.user.has_group("sales_team.group_sale_salesman_all_leads")
                else [("user_id", "=", self.env.uid)]))

    @users("user_sales_salesman")
    def test_my_call_queue_in_the_order_of_the_day(self):
        queue = self._queue()
        self.assertEqual(queue.mapped("name"), ["New old", "New recent", "Follow big", "Follow small", "No answer"],
                         "new leads oldest first, then today's follow-ups biggest first, then the no answers")
        self.assertEqual(queue.mapped("queue_group"),
                         ["first_contact", "first_contact", "follow_up", "follow_up", "no_answer"])
        self.assertEqual(queue.filtered(lambda row: row.name == "No answer").call_attempt_count, 2)
        action = self.env["ir.actions.act_window"]._for_xml_id("sales_process_stages.crm_lead_call_queue_action_my")
        self.assertIn("uid", action["domain"])
        # the salesman sees no other rep's row, even when asking
        self.assertFalse(self.env["crm.lead.call.queue"].search([("user_id", "=", self.user_sales_leads.id)]))

    @users("user_sales_salesman")
    def test_why_now_names_what_is_due(self):
        queue = self._queue()
        reasons = dict(zip(queue.mapped("name"), queue.mapped("queue_reason"), strict=True))
        self.assertTrue(reasons["New old"].startswith("Not contacted yet"))
        self.assertIn("To-Do due", reasons["Follow big"], "the activity due, by its type")
        self.assertEqual(queue.filtered(lambda row: row.name == "Follow big").due_activity_id.res_id,
                         self.follow_big.id)
        self.assertTrue(reasons["No answer"].startswith("No answer on "))

    def test_stars_first_within_a_group(self):
        self.follow_small.priority = "3"
        self.assertEqual(self.env["crm.lead.call.queue"].with_user(self.user_sales_salesman).search(
            [("lead_id", "in", self.leads.ids), ("user_id", "=", self.user_sales_salesman.id)]).mapped("name"),
            ["New old", "New recent", "Follow small", "Follow big", "No answer"],
            "the three-star follow-up before the bigger one; the groups keep their order")

    def test_no_phone_and_unconfigured_pipelines_stay_out(self):
        """A lead nobody can call, and a pipeline nobody configured (plain Odoo), are not queued."""
        Queue = self.env["crm.lead.call.queue"]
        self.new_recent.phone = False
        self.assertNotIn(self.new_recent, Queue.search([]).lead_id, "no phone on the lead nor its customer")
        self.new_recent.partner_id = self.env["res.partner"].create({"name": "Callable", "mobile": "+32 470 12 34 56"})
        row = Queue.search([("lead_id", "=", self.new_recent.id)])
        self.assertEqual(row.phone, "+32 470 12 34 56", "the customer's mobile")
        self.team_plain.lost_reason_required = False  # the pipeline is back to plain Odoo
        plain_leads = self.leads.filtered(lambda lead: lead.team_id == self.team_plain)
        self.assertGreater(len(plain_leads), 4)
        self.assertFalse(Queue.search([("lead_id", "in", plain_leads.ids)]))

    @users("user_sales_salesman")
    def test_next_hands_out_the_top_lead_and_holds_it(self):
        """"Next" opens the top lead and holds it for the rep: "Next" again hands out the following
        one; the call's outcome ends the hold; a hold times out after 5 minutes."""
        Queue = self.env["crm.lead.call.queue"]
        now = fields.Datetime.now()
        with self.mock_datetime_and_now(now):
            first = Queue.action_call_next()
            self.assertEqual(first["res_id"], self.new_old.id, "the top of the queue")
            self.assertEqual(self.new_old.call_held_by_id, self.env.user)
            self.assertEqual(Queue.action_call_next()["res_id"], self.new_recent.id, "the one held is skipped")
            self.new_old.action_call_no_answer()  # the outcome ends the hold
            self.assertFalse(self.new_old.call_held_by_id)
        with self.mock_datetime_and_now(now + timedelta(minutes=6)):
            self.assertEqual(Queue.action_call_next()["res_id"], self.new_recent.id,
                             "its hold timed out: handed out again")
            with self.assertRaises(ValidationError, msg="the hold is the process's to write"):
                self.new_recent.with_env(self.env).write({"call_held_by_id": False})

    @users("user_sales_salesman")
    def test_calls_from_the_row(self):
        row = self._queue().filtered(lambda row: row.name == "New recent")
        self.assertEqual(row.action_open_lead()["res_id"], self.new_recent.id)
        row.action_call_no_answer()
        self.assertNotIn(self.new_recent, self._queue().lead_id, "attempted today: tried again at the next attempt")
        self.assertEqual(self.new_recent.call_attempt_count, 1)
        row = self._queue().filtered(lambda row: row.name == "Follow big")
        row.action_call_done()
        self.assertEqual(self.follow_big.call_attempt_count, 2)
        self.assertEqual(row.action_call_schedule_next()["res_model"], "mail.activity.schedule")

    @users("user_sales_manager")
    def test_the_managers_queues_by_salesperson(self):
        action = self.env["ir.actions.act_window"]._for_xml_id("sales_process_stages.crm_lead_call_queue_action")
        self.assertIn("search_default_group_user", action["context"])
        groups = self.env["crm.lead.call.queue"].read_group(
            [("lead_id", "in", self.leads.ids)], ["user_id"], ["user_id"])
        self.assertEqual({group["user_id"][0]: group["user_id_count"] for group in groups},
                         {self.user_sales_salesman.id: 5, self.user_sales_leads.id: 1})


@tagged("post_install", "-at_install", "sps_performance")
class TestCallQueuePerformance(CallsCommon):

    def test_queue_costs_what_my_pipeline_costs(self):
        """The call queue's page costs the queries of Odoo's "My Pipeline" list, whatever the number of leads."""
        Queue = self.env["crm.lead.call.queue"].with_user(self.user_sales_salesman)
        Lead = self.env["crm.lead"].with_user(self.user_sales_salesman)
        self.team_plain.lost_reason_required = True  # a configured pipeline: its leads are queued
        queue_spec = {name: {} for name in ("lead_id", "queue_group", "queue_reason", "priority", "name", "phone",
                                            "sla_state", "call_attempt_count", "expected_revenue",
                                            "lead_create_date")}
        queue_spec.update(stage_id={"fields": {"display_name": {}}}, partner_id={"fields": {"display_name": {}}})
        lead_spec = {name: {} for name in ("name", "phone", "expected_revenue", "activity_date_deadline",
                                           "activity_state", "probability")}
        lead_spec.update(stage_id={"fields": {"display_name": {}}}, partner_id={"fields": {"display_name": {}}})
        counts = {}
        Queue.web_search_read([], queue_spec, limit=80)  # warm the caches, as on a running server
        Lead.web_search_read([], lead_spec, limit=80)
        for size in (100, 300):
            self.env["crm.lead"].create([{
                "name": f"Queue {size} {index}", "type": "opportunity", "team_id": self.team_plain.id,
                "user_id": self.user_sales_salesman.id, "stage_id": self.stage_plain_new.id, "expected_revenue": index,
                "phone": f"+32 2 290 {size:03d} {index:03d}",
            } for index in range(size)])
            domain = [("user_id", "=", self.user_sales_salesman.id)]
            queue = self._queries(lambda domain=domain: Queue.web_search_read(domain, queue_spec, limit=80))
            pipeline = self._queries(lambda domain=domain: Lead.web_search_read(domain, lead_spec, limit=80))
            counts[size] = (queue, pipeline)
        _logger.info("queries of a call queue page / My Pipeline's list page, 100 and 400 leads: %s", counts)
        self.assertEqual(len(Queue.search(domain, limit=80)), 80, "the page is full: the queue is measured")
        self.assertLessEqual(counts[300][0], counts[100][0], "no query per lead")
        self.assertLessEqual(counts[300][0], counts[300][1], "no more than My Pipeline")


@tagged("post_install", "-at_install")
class TestDailyReviewPerRep(CallsCommon):

    def test_one_row_per_salesperson_and_the_leads_behind_each_count(self):
        now = fields.Datetime.now()
        Lead = self.env["crm.lead"]
        first, overdue, no_answer, won, lost, quiet = Lead.create([{
            "name": name, "type": "opportunity", "team_id": self.team_plain.id, "stage_id": self.stage_plain_new.id,
            "user_id": self.user_sales_salesman.id,
        } for name in ("First", "Overdue", "No answer", "Won", "Lost", "Quiet")])
        (overdue | no_answer | won | lost | quiet).action_call_done()
        overdue.sudo().write({"sla_state": "overdue", "sla_deadline": now - timedelta(hours=2)})
        no_answer.action_call_no_answer()
        no_answer.sudo().write({"call_no_answer_date": now - timedelta(days=1)})
        won.action_set_won()
        lost.action_set_lost(lost_reason_id=self.lost_reason.id)
        (won | lost).sudo().write({"date_closed": now - timedelta(days=1)})
        other = Lead.create({"name": "Someone else's", "type": "opportunity", "team_id": self.team_plain.id,
                             "user_id": self.user_sales_leads.id, "stage_id": self.stage_plain_new.id})
        Review = self.env["crm.lead.daily.review"].with_user(self.user_sales_manager)
        row = Review.search([("user_id", "=", self.user_sales_salesman.id)])
        counts = {name: row[f"{name}_count"] for name in
                  ("overdue", "due_today", "first_contact", "no_answer", "won", "lost")}
        for name, lead in (("first_contact", first), ("overdue", overdue), ("no_answer", no_answer),
                           ("won", won), ("lost", lost)):
            with self.subTest(count=name):
                action = getattr(row, f"action_open_{name}")()
                opened = self.env["crm.lead"].with_context(active_test=False).search(action["domain"])
                self.assertIn(lead, opened, (name, counts, lead.read(["sla_state", "date_closed", "active"])))
                self.assertNotIn(quiet, opened)
                self.assertEqual(len(opened), counts[name], "the count is the leads it opens")
                self.assertEqual(opened.user_id, self.user_sales_salesman, "only the salesperson's")
        self.assertIn(self.user_sales_leads, Review.search([]).user_id)
        self.assertIn(other, self.env["crm.lead"].with_context(active_test=False).search(
            Review.search([("user_id", "=", self.user_sales_leads.id)]).action_open_first_contact()["domain"]))
        # a salesman sees their own row only
        own = self.env["crm.lead.daily.review"].with_user(self.user_sales_salesman).search([])
        self.assertEqual(own.user_id, self.user_sales_salesman)
        menu = self.env.ref("sales_process_stages.crm_lead_daily_review_menu")
        self.assertEqual(menu.action, self.env.ref("sales_process_stages.crm_lead_daily_review_action"))


@tagged("post_install", "-at_install")
class TestCallQueueTour(CallsCommon, HttpCase):

    def test_call_queue_tour(self):
        """In the browser, as the salesman: No Answer from the queue's row, then from a planned call's popover."""
        self.team_plain.lost_reason_required = True  # a configured pipeline: its leads are queued
        first, second = self.env["crm.lead"].create([{
            "name": name, "type": "opportunity", "team_id": self.team_plain.id, "stage_id": self.stage_plain_new.id,
            "user_id": self.user_sales_salesman.id, "phone": "+32 2 555 01 01",
        } for name in ("Tour caller A", "Tour caller B")])
        second.action_call_done()
        second.activity_schedule("mail.mail_activity_data_call", summary="Call the customer back",
                                 user_id=self.user_sales_salesman.id, date_deadline=fields.Date.today())
        self.start_tour("/odoo/action-sales_process_stages.crm_lead_call_queue_action_my",
                        "sales_process_stages_call_queue", login="user_sales_salesman", timeout=120)
        self.assertEqual(first.call_attempt_count, 1)
        self.assertEqual(second.call_attempt_count, 2)
        self.assertTrue(second.call_no_answer_date)
