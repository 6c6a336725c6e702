"""Steps in order: checklist items that wait for other items of their stage ("Starts After")."""
import importlib.util
import json
import logging
from datetime import datetime
from pathlib import Path

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.models import BaseModel
from odoo.tests import HttpCase, tagged, users

import odoo.addons.sales_process_stages as addon

from .common import TestSalesProcessCommon

_logger = logging.getLogger(__name__)
MIGRATION = Path(addon.__file__).parent / "migrations" / "18.0.1.2.0" / "post-migration.py"


class ChecklistStepsCommon(TestSalesProcessCommon):
    """In Offer, "Price calculation" (the analyst) starts after "Technical feasibility" (the
    engineer), and a new optional "Email the offer" (the salesperson) after both."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.item_price.depends_on_ids = cls.item_feasibility
        cls.item_send = cls.env["crm.stage.checklist.item"].create({
            "stage_id": cls.stage_offer.id, "name": "Email the offer", "sequence": 3, "is_mandatory": False,
            "due_offset": 1, "due_offset_unit": "days",
            "activity_type_id": cls.env.ref("mail.mail_activity_data_email").id,
            "depends_on_ids": [(6, 0, (cls.item_feasibility | cls.item_price).ids)],
        })

    def _line(self, leads, item):
        return leads.checklist_line_ids.filtered(lambda line: line.item_id == item)

    def _leads_in_offer(self, count=1, when=None):
        leads = self._new_leads(count, expected_revenue=10, partner_id=self.customer.id)
        self._complete(leads, self.stage_new)
        if when:
            with self.mock_datetime_and_now(when):
                leads.write({"stage_id": self.stage_offer.id})
        else:
            leads.write({"stage_id": self.stage_offer.id})
        return leads


@tagged("post_install", "-at_install")
class TestChecklistSteps(ChecklistStepsCommon):

    def test_entering_gives_every_line_and_only_the_first_steps_activities(self):
        lead = self._leads_in_offer(when=datetime(2026, 3, 2, 9, 0))
        feasibility, price, send = (self._line(lead, item) for item in
                                    (self.item_feasibility, self.item_price, self.item_send))
        self.assertEqual(feasibility.state, "open")
        self.assertTrue(feasibility.activity_id)
        for line in (price, send):
            self.assertEqual(line.state, "waiting")
            self.assertFalse(line.activity_id, "no activity before its turn")
            self.assertFalse(line.date_deadline, "its due delay counts from its start")
            self.assertFalse(line.is_overdue)
        self.assertEqual(price.user_id, self.user_analyst, "who does it is known from the start")
        self.assertEqual(price.waiting_for, "Technical feasibility")
        self.assertEqual(send.waiting_for, "Technical feasibility, Price calculation")
        self.assertEqual(set(lead.activity_ids.mapped("summary")), {"Technical feasibility", "Send the brochure"},
                         "the feasibility, and New's optional item left open")
        self.assertEqual(lead.checklist_mandatory_total, 2)
        self.assertEqual(lead.checklist_progress, 0)

    def test_done_prerequisite_schedules_the_next_activity_from_that_moment(self):
        lead = self._leads_in_offer(when=datetime(2026, 3, 2, 9, 0))
        feasibility, price, send = (self._line(lead, item) for item in
                                    (self.item_feasibility, self.item_price, self.item_send))
        with self.mock_datetime_and_now(datetime(2026, 3, 10, 9, 0)):
            # the engineer marks their activity done in "My Activities"
            feasibility.activity_id.with_user(self.user_engineer).action_feedback(feedback="Feasible")
        self.assertEqual(feasibility.state, "done")
        self.assertEqual(price.state, "open")
        self.assertFalse(price.waiting_for)
        self.assertEqual(price.date_deadline, fields.Date.to_date("2026-03-10"), "8 hours after the start")
        self.assertEqual(price.activity_id.user_id, self.user_analyst)
        self.assertEqual(price.activity_id.date_deadline, price.date_deadline)
        self.assertEqual(price.activity_id.summary, "Price calculation")
        self.assertEqual(send.state, "waiting", "it waits for both")
        self.assertEqual(send.waiting_for, "Price calculation")
        with self.mock_datetime_and_now(datetime(2026, 3, 11, 9, 0)):
            price.with_user(self.user_analyst).action_done()
        self.assertEqual(send.state, "open")
        self.assertEqual(send.date_deadline, fields.Date.to_date("2026-03-12"))
        self.assertEqual(send.activity_id.user_id, self.user_sales_salesman)
        self.assertEqual(send.activity_id.activity_type_id, self.env.ref("mail.mail_activity_data_email"))

    def test_skipped_prerequisite_counts_as_done(self):
        self.item_feasibility.is_mandatory = False
        lead = self._leads_in_offer()
        feasibility, price = self._line(lead, self.item_feasibility), self._line(lead, self.item_price)
        feasibility.with_user(self.user_engineer).write({"skip_reason": "Standard roof"})
        feasibility.with_user(self.user_engineer).action_confirm_skip()
        self.assertEqual(price.state, "open")
        self.assertTrue(price.activity_id)

    def test_waiting_mandatory_lines_block_leaving_forward(self):
        lead = self._leads_in_offer()
        self._line(lead, self.item_feasibility).sudo().action_done()
        self._plan_activity(lead)
        with self.assertRaises(UserError) as error:
            lead.with_user(self.user_sales_salesman).write({"stage_id": self.stage_closing.id})
        self.assertIn("Price calculation", str(error.exception))
        self.assertNotIn("Email the offer", str(error.exception), "optional items do not block")
        lead.invalidate_recordset()
        self.assertEqual(lead.stage_id, self.stage_offer)
        self.assertIn(self._line(lead, self.item_price), lead.stage_move_line_ids, "the Move to Stage dialog lists it")
        # a waiting line names what it waits for in the refusal too
        other = self._leads_in_offer()
        self._plan_activity(other)
        with self.assertRaises(UserError) as error:
            other.write({"stage_id": self.stage_closing.id})
        self.assertIn("Price calculation (waiting)", str(error.exception))
        # moving back is no move forward
        lead.write({"stage_id": self.stage_new.id})
        self.assertEqual(lead.stage_id, self.stage_new)

    @users("user_sales_salesman")
    def test_a_waiting_line_cannot_be_ticked_skipped_or_started_by_hand(self):
        lead = self._leads_in_offer().with_user(self.env.user)
        price, send = self._line(lead, self.item_price), self._line(lead, self.item_send)
        with self.assertRaises(UserError) as error:
            price.action_done()
        self.assertIn("“Price calculation” waits for “Technical feasibility”", str(error.exception))
        with self.assertRaises(UserError):
            send.write({"state": "skipped", "skip_reason": "Not needed"})
        with self.assertRaises(UserError):
            price.write({"state": "open"})
        feasibility = self._line(lead, self.item_feasibility)
        with self.assertRaises(UserError):
            feasibility.write({"state": "waiting"})
        lead.invalidate_recordset()
        self.assertEqual(lead.checklist_line_ids.filtered(lambda line: line.stage_id == self.stage_offer).mapped(
            "state"), ["open", "waiting", "waiting"], "nothing written")

    def test_reentering_keeps_the_states_and_starts_what_is_ready(self):
        lead = self._leads_in_offer()
        feasibility, price = self._line(lead, self.item_feasibility), self._line(lead, self.item_price)
        lead.write({"stage_id": self.stage_new.id})
        # done while the lead is back in New: the next step waits for the lead to come back
        feasibility.sudo().action_done()
        self.assertEqual(price.state, "waiting")
        self.assertFalse(price.activity_id)
        lead.write({"stage_id": self.stage_offer.id})
        self.assertEqual(len(self._line(lead, self.item_price)), 1, "no duplicate")
        self.assertEqual(feasibility.state, "done", "kept as it was")
        self.assertEqual(price.state, "open", "its prerequisite was done earlier: it starts at once")
        self.assertEqual(price.activity_id.user_id, self.user_analyst)

    def test_new_line_of_a_reentered_stage_starts_after_lines_done_before(self):
        lead = self._leads_in_offer()
        self._complete(lead, self.stage_offer)  # the feasibility: the price calculation starts
        self._complete(lead, self.stage_offer)  # the price calculation: "Email the offer" starts
        self.assertEqual(self._line(lead, self.item_send).state, "open")
        lead.write({"stage_id": self.stage_new.id})
        review = self.env["crm.stage.checklist.item"].create({
            "stage_id": self.stage_offer.id, "name": "Review the offer", "sequence": 4,
            "depends_on_ids": [(6, 0, self.item_price.ids)]})
        lead.write({"stage_id": self.stage_offer.id})
        line = self._line(lead, review)
        self.assertEqual(line.state, "open", "what it waits for was done before")
        self.assertTrue(line.activity_id)

    def test_lost_lead_cancels_waiting_lines_and_restore_waits_again(self):
        lead = self._leads_in_offer()
        feasibility, price = self._line(lead, self.item_feasibility), self._line(lead, self.item_price)
        lead.action_set_lost(lost_reason_id=self.lost_reason.id)
        self.assertEqual((feasibility | price).mapped("state"), ["cancelled", "cancelled"])
        lead.action_unarchive()
        self.assertEqual(feasibility.state, "open")
        self.assertTrue(feasibility.activity_id)
        self.assertEqual(price.state, "waiting", "it still waits for the feasibility")
        self.assertFalse(price.activity_id)
        feasibility.sudo().action_done()
        self.assertEqual(price.state, "open")

    def test_reopening_a_step_sets_the_steps_after_it_waiting_again(self):
        lead = self._leads_in_offer()
        feasibility, price, send = (self._line(lead, item) for item in
                                    (self.item_feasibility, self.item_price, self.item_send))
        feasibility.with_user(self.user_engineer).action_done()
        price.with_user(self.user_analyst).action_done()
        self.assertEqual(send.state, "open")
        send_activity = send.activity_id
        self.assertTrue(send_activity)
        # the salesperson reopens the feasibility: the price calculation done since, and the email
        # open since, wait for it again
        feasibility.with_user(self.user_sales_salesman).action_reopen()
        self.assertEqual(feasibility.state, "open")
        self.assertEqual((price.state, price.done_user_id, price.done_date), ("waiting", self.env["res.users"], False))
        self.assertEqual(send.state, "waiting")
        self.assertFalse(send_activity.exists(), "the open step's activity is withdrawn")
        self.assertFalse(send.activity_id | price.activity_id)
        self.assertEqual(price.waiting_for, "Technical feasibility")
        self.assertEqual(lead.checklist_mandatory_done, 0)
        # the steps start again, in order, once it is done again
        feasibility.with_user(self.user_engineer).action_done()
        self.assertEqual(price.state, "open")
        self.assertEqual(price.activity_id.user_id, self.user_analyst)
        self.assertEqual(send.state, "waiting")
        # reopening the last step touches nothing before it
        price.with_user(self.user_analyst).action_done()
        price.with_user(self.user_sales_salesman).action_reopen()
        self.assertEqual((feasibility.state, price.state, send.state), ("done", "open", "waiting"))

    def test_reopening_a_step_of_another_lead_touches_only_its_lead(self):
        leads = self._leads_in_offer(2)
        self._complete(leads, self.stage_offer)
        self._complete(leads, self.stage_offer)
        self._line(leads[0], self.item_feasibility).with_user(self.user_sales_salesman).action_reopen()
        self.assertEqual(self._line(leads[0], self.item_price).state, "waiting")
        self.assertEqual(self._line(leads[1], self.item_price).state, "done")
        self.assertEqual(self._line(leads[1], self.item_send).state, "open")

    def test_configuration_refuses_cycles_and_other_stages(self):
        with self.assertRaises(ValidationError) as error:
            self.item_feasibility.depends_on_ids = self.item_send
        message = str(error.exception)
        self.assertIn("circle", message)
        self.assertIn("Technical feasibility", message)
        self.assertIn("Email the offer", message)
        with self.assertRaises(ValidationError) as error:
            self.item_feasibility.depends_on_ids = self.item_feasibility
        self.assertIn("Technical feasibility → Technical feasibility", str(error.exception))
        with self.assertRaises(ValidationError) as error:
            self.item_price.depends_on_ids = self.item_call
        self.assertIn("Call the customer (New lead)", str(error.exception))
        with self.assertRaises(ValidationError, msg="moving an item waited for to another stage"):
            self.item_feasibility.stage_id = self.stage_closing
        # a salesman configures nothing
        with self.assertRaises(AccessError):
            self.item_send.with_user(self.user_sales_salesman).depends_on_ids = False

    def test_archived_prerequisite_no_longer_holds_back(self):
        self.item_feasibility.active = False
        lead = self._leads_in_offer()
        self.assertEqual(self._line(lead, self.item_price).state, "open")
        self.assertEqual(self._line(lead, self.item_send).state, "waiting")
        self.assertEqual(self._line(lead, self.item_send).waiting_for, "Price calculation")

    def test_archiving_the_item_a_step_waits_for_starts_the_step(self):
        lead = self._leads_in_offer()
        away = self._leads_in_offer()
        away.write({"stage_id": self.stage_new.id})
        price, send = self._line(lead, self.item_price), self._line(lead, self.item_send)
        self.assertEqual((price.state, send.state), ("waiting", "waiting"))
        self.item_feasibility.with_user(self.user_sales_manager).action_archive()
        self.assertEqual(price.state, "open", "it waits for nothing any more")
        self.assertEqual(price.activity_id.user_id, self.user_analyst)
        self.assertTrue(price.date_deadline)
        self.assertEqual(send.state, "waiting", "it still waits for the price calculation")
        self.assertEqual(send.waiting_for, "Price calculation")
        price.with_user(self.user_analyst).action_done()
        self.assertEqual(send.state, "open")
        # a lead out of the stage starts it when it comes back
        self.assertEqual(self._line(away, self.item_price).state, "waiting")
        away.write({"stage_id": self.stage_offer.id})
        self.assertEqual(self._line(away, self.item_price).state, "open")
        # the mandatory waiting step no longer strands the lead: done (and the archived item's own
        # line, open, done as it always could be), the lead moves on
        self._line(away, self.item_price).with_user(self.user_analyst).action_done()
        self._line(away, self.item_feasibility).with_user(self.user_engineer).action_done()
        self._plan_activity(away)
        away.with_user(self.user_sales_salesman).write({"stage_id": self.stage_closing.id})
        self.assertEqual(away.stage_id, self.stage_closing)

    def test_deleting_the_item_a_step_waits_for_starts_the_step(self):
        lead = self._leads_in_offer()
        price, send = self._line(lead, self.item_price), self._line(lead, self.item_send)
        self.item_feasibility.with_user(self.user_sales_manager).unlink()
        self.assertEqual(price.state, "open")
        self.assertTrue(price.activity_id)
        self.assertEqual(send.state, "waiting")
        # both the items a step waits for deleted at once
        other = self._leads_in_offer()
        self.item_price.with_user(self.user_sales_manager).unlink()
        self.assertEqual(send.state, "open")
        self.assertEqual(self._line(other, self.item_send).state, "open")
        self.assertTrue(self._line(other, self.item_send).activity_id)

    def test_no_longer_waiting_for_an_item_starts_the_step(self):
        lead = self._leads_in_offer()
        price = self._line(lead, self.item_price)
        self.item_price.with_user(self.user_sales_manager).depends_on_ids = False
        self.assertEqual(price.state, "open")
        self.assertTrue(price.activity_id)

    def test_copied_stage_waits_for_its_own_copies(self):
        copy = self.stage_offer.copy({"name": "Offer (copy)"})
        items = {item.name: item for item in copy.checklist_item_ids}
        self.assertEqual(items["Price calculation"].depends_on_ids, items["Technical feasibility"])
        self.assertEqual(items["Email the offer"].depends_on_ids,
                         items["Technical feasibility"] | items["Price calculation"])
        self.assertEqual(self.item_send.depends_on_ids, self.item_feasibility | self.item_price, "untouched")


@tagged("post_install", "-at_install")
class TestChecklistStepsAssignee(ChecklistStepsCommon):

    def test_assignee_sees_the_waiting_item_and_what_it_waits_for(self):
        """The analyst (no CRM rights) sees their waiting item in their Checklist app, with the names of
        the items before it, and nothing else of the lead."""
        lead = self._leads_in_offer()
        self.env = self.env(user=self.user_analyst)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sales_process_stages.crm_lead_checklist_line_action_my")
        self.assertIn("search_default_waiting", action["context"])
        Line = self.env["crm.lead.checklist.line"]
        result = Line.web_search_read(
            ["&", ("user_id", "=", self.env.uid), "|", ("state", "=", "open"), ("state", "=", "waiting")],
            {"name": {}, "state": {}, "waiting_for": {}, "lead_name": {}})
        self.assertEqual(result["length"], 1)
        record = result["records"][0]
        self.assertEqual((record["name"], record["state"], record["waiting_for"]),
                         ("Price calculation", "waiting", "Technical feasibility"))
        self.assertEqual(Line.search([]).mapped("name"), ["Price calculation"], "only their own item")
        with self.assertRaises(AccessError):
            self.env["crm.lead"].browse(lead.id).read(["expected_revenue"])
        arch = Line.get_views([(False, "list")])["views"]["list"]["arch"]
        self.assertIn('name="waiting_for"', arch)

    def test_the_checklist_tab_shows_what_a_line_waits_for(self):
        lead = self._leads_in_offer()
        arch = lead.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn('name="waiting_for"', arch)
        data = lead.with_user(self.user_sales_salesman).web_read(
            {"checklist_line_ids": {"fields": {"name": {}, "state": {}, "waiting_for": {}}}})
        lines = {line["name"]: line for line in data[0]["checklist_line_ids"]}
        self.assertEqual(lines["Price calculation"]["waiting_for"], "Technical feasibility")
        self.assertFalse(lines["Technical feasibility"]["waiting_for"])


@tagged("post_install", "-at_install")
class TestChecklistStepsRpc(ChecklistStepsCommon, HttpCase):

    def test_salesman_cannot_tick_a_waiting_line_over_rpc(self):
        lead = self._leads_in_offer()
        price = self._line(lead, self.item_price)
        price.user_id = self.user_sales_salesman
        self.authenticate("user_sales_salesman", "user_sales_salesman")
        for values in ({"state": "done"}, {"state": "open"}, {"state": "skipped", "skip_reason": "x"}):
            response = self.url_open("/web/dataset/call_kw/crm.lead.checklist.line/write", data=json.dumps({
                "jsonrpc": "2.0", "method": "call", "id": 1,
                "params": {"model": "crm.lead.checklist.line", "method": "write", "args": [price.ids, values],
                           "kwargs": {}},
            }), headers={"Content-Type": "application/json"})
            error = response.json()["error"]["data"]
            self.assertEqual(error["name"], "odoo.exceptions.ValidationError", values)
        price.invalidate_recordset()
        self.assertEqual(price.state, "waiting")
        self.assertFalse(price.activity_id)


@tagged("post_install", "-at_install", "sps_performance")
class TestChecklistStepsPerformance(ChecklistStepsCommon):

    def test_completing_a_prerequisite_on_many_leads(self):
        """Ticking the item others wait for on 1, 10 and 100 leads in one call starts the next
        items and schedules their activities in a number of queries that does not grow with the leads."""
        starts, ticks = {}, {}
        warm = self._leads_in_offer(2)
        self._line(warm, self.item_feasibility).sudo().action_done()
        for size in (1, 10, 100):
            # what starting the next items costs, alone: the lines done, then their follow-up
            leads = self._leads_in_offer(size)
            lines = self._line(leads, self.item_feasibility).with_user(self.user_sales_manager)
            BaseModel.write(lines.sudo(), {"state": "done"})
            starts[size] = self._queries(lines._start_next_lines)
            self.assertEqual(set(self._line(leads, self.item_price).mapped("state")), {"open"})
            self.assertEqual(len(self._line(leads, self.item_price).activity_id), size)
            # the whole tick, Odoo's activity feedback included (a message posted per activity)
            leads = self._leads_in_offer(size)
            lines = self._line(leads, self.item_feasibility).with_user(self.user_sales_manager)
            ticks[size] = self._queries(lines.action_done)
            self.assertEqual(len(self._line(leads, self.item_price).activity_id), size)
        _logger.info("queries to start the next items of 1/10/100 leads: %s; the whole tick: %s", starts, ticks)
        # 100 activities are inserted 100 a query (odoo.models.INSERT_BATCH_SIZE): the only growth allowed
        self.assertLessEqual(starts[100] - starts[10], 3, starts)
        self.assertLessEqual(starts[10] - starts[1], 3, starts)


@tagged("post_install", "-at_install")
class TestSeededSteps(TestSalesProcessCommon):
    """The B2B pipeline's sequential steps, and the migration setting them on older databases."""

    def test_b2b_steps_in_order(self):
        ref = self.env.ref
        write = ref("sales_process_stages.crm_stage_checklist_item_b2b_proposal_write")
        calculation = ref("sales_process_stages.crm_stage_checklist_item_b2b_proposal_calculation")
        prepare = ref("sales_process_stages.crm_stage_checklist_item_b2b_contract_prepare")
        approve = ref("sales_process_stages.crm_stage_checklist_item_b2b_contract_approve")
        signed = ref("sales_process_stages.crm_stage_checklist_item_b2b_contract_signed_contract")
        self.assertEqual(write.depends_on_ids, calculation)
        self.assertEqual(approve.depends_on_ids, prepare)
        self.assertEqual(signed.depends_on_ids, approve)
        self.assertFalse(prepare.depends_on_ids | calculation.depends_on_ids)
        # a deal entering "Proposal": the rep skips the calculation for a list price
        team = ref("sales_process_stages.crm_team_pipeline_b2b")
        lead = self.env["crm.lead"].create({
            "name": "Fleet of laptops", "type": "opportunity", "team_id": team.id,
            "stage_id": write.stage_id.id, "user_id": self.user_sales_salesman.id, "expected_revenue": 5000})
        lines = {line.item_id: line for line in lead.checklist_line_ids}
        self.assertEqual(lines[write].state, "waiting")
        lines[calculation].write({"skip_reason": "List price"})
        lines[calculation].action_confirm_skip()
        self.assertEqual(lines[write].state, "open")
        self.assertTrue(lines[write].activity_id)

    def test_migration_sets_the_b2b_steps_where_left_as_seeded(self):
        ref = self.env.ref
        write = ref("sales_process_stages.crm_stage_checklist_item_b2b_proposal_write")
        approve = ref("sales_process_stages.crm_stage_checklist_item_b2b_contract_approve")
        signed = ref("sales_process_stages.crm_stage_checklist_item_b2b_contract_signed_contract")
        (write | approve | signed).depends_on_ids = False  # as 18.0.1.1.0 left them
        custom = self.env["crm.stage.checklist.item"].create(
            {"stage_id": signed.stage_id.id, "name": "Check the signatures", "sequence": 25})
        signed.depends_on_ids = custom  # a consultant's own order: kept
        spec = importlib.util.spec_from_file_location("sps_migration_18_0_1_2_0", MIGRATION)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        migration.migrate(self.env.cr, "18.0.1.1.0")
        self.env.invalidate_all()
        item = "sales_process_stages.crm_stage_checklist_item_b2b_%s"
        self.assertEqual(write.depends_on_ids, ref(item % "proposal_calculation"))
        self.assertEqual(approve.depends_on_ids, ref(item % "contract_prepare"))
        self.assertEqual(signed.depends_on_ids, custom)
