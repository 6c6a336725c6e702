"""Loss-reason enforcement on every path that loses a lead, restore, transfer, winning policy."""
import logging

from lxml import etree
from psycopg2 import IntegrityError

from odoo.exceptions import UserError
from odoo.tests import Form, tagged, users
from odoo.tools import mute_logger

from .common import TestSalesProcessCommon

_logger = logging.getLogger(__name__)


@tagged("post_install", "-at_install")
class TestLoss(TestSalesProcessCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.team_process.lost_reason_required = True
        cls.reason_budget = cls.env.ref("sales_process_stages.lost_reason_no_budget")
        cls.reason_competitor = cls.env.ref("sales_process_stages.lost_reason_competitor")
        cls.reason_no_answer = cls.env.ref("sales_process_stages.lost_reason_no_answer")
        cls.reason_timing = cls.env.ref("sales_process_stages.lost_reason_bad_timing")
        cls.competitor = cls.env["res.partner"].create({"name": "Cheap Panels Inc", "is_company": True})

    def _lose_with_wizard(self, leads, reason, **values):
        wizard = Form(self.env["crm.lead.lost"].with_context(default_lead_ids=leads.ids))
        wizard.lost_reason_id = reason
        for name, value in values.items():
            setattr(wizard, name, value)
        return wizard.save().action_lost_reason_apply()

    # ------------------------------------------------------------
    # every path that makes a lead lost
    # ------------------------------------------------------------

    @users("user_sales_salesman", "user_sales_manager")
    def test_action_set_lost_needs_a_reason(self):
        lead = self._new_leads(user=self.env.user)
        with self.assertRaises(UserError) as error:
            lead.action_set_lost()
        self.assertIn(lead.name, str(error.exception))
        self.assertIn("requires a lost reason", str(error.exception))
        self.assertTrue(lead.active, "nothing saved")
        lead.action_set_lost(lost_reason_id=self.reason_budget.id)
        self.assertFalse(lead.active)
        self.assertEqual(lead.lost_reason_id, self.reason_budget)
        self.assertEqual(lead.probability, 0)

    @users("user_sales_salesman", "user_sales_manager")
    def test_archive_and_mass_archive(self):
        leads = self._new_leads(3, user=self.env.user)
        with self.assertRaises(UserError):
            leads[0].write({"active": False})
        with self.assertRaises(UserError) as error:
            leads.action_archive()  # the list's "Archive" action
        for lead in leads:
            self.assertIn(lead.name + ":", str(error.exception), "one message naming every lead")
        self.assertTrue(all(leads.mapped("active")))
        leads.write({"active": False, "lost_reason_id": self.reason_budget.id})
        self.assertFalse(any(leads.mapped("active")))

    @users("user_sales_salesman")
    def test_import_of_lost_leads(self):
        result = self.env["crm.lead"].load(
            ["name", "type", "team_id", "active"], [["Old lost deal", "opportunity", "Process Team", "False"]])
        self.assertFalse(result["ids"])
        self.assertIn("requires a lost reason", " ".join(message["message"] for message in result["messages"]))
        result = self.env["crm.lead"].load(
            ["name", "type", "team_id", "active", "lost_reason_id"],
            [["Old lost deal", "opportunity", "Process Team", "False", "No budget"]])
        self.assertEqual(len(result["ids"]), 1, result["messages"])

    @users("user_sales_salesman")
    def test_unconfigured_pipeline_loses_as_in_odoo(self):
        lead = self.env["crm.lead"].create({"name": "Plain", "type": "opportunity", "team_id": self.sales_team_1.id})
        lead.action_set_lost()
        self.assertFalse(lead.active)
        self.assertFalse(lead.lost_reason_id)

    # ------------------------------------------------------------
    # the details a reason asks for, through the wizard and the server
    # ------------------------------------------------------------

    @users("user_sales_salesman")
    def test_wizard_competitor(self):
        lead = self._new_leads(user=self.env.user)
        wizard = Form(self.env["crm.lead.lost"].with_context(default_lead_ids=lead.ids))
        wizard.lost_reason_id = self.reason_competitor
        with self.assertRaises(AssertionError, msg="the wizard requires what the reason asks"):
            wizard.save()
        with self.assertRaises(UserError, msg="and the server checks the same"):
            lead.action_set_lost(lost_reason_id=self.reason_competitor.id)
        self.assertTrue(lead.active)
        with self.assertRaises(UserError, msg="a name of only spaces is no name"):
            self._lose_with_wizard(lead, self.reason_competitor, lost_competitor_name="  ")
        self.assertTrue(lead.active)
        self._lose_with_wizard(lead, self.reason_competitor, lost_competitor_id=self.competitor)
        self.assertFalse(lead.active)
        self.assertEqual(lead.lost_competitor_id, self.competitor)

    def test_competitor_by_name(self):
        lead = self._new_leads()
        lead.action_set_lost(lost_reason_id=self.reason_competitor.id, lost_competitor_name="SunPower GmbH")
        self.assertFalse(lead.active)
        self.assertEqual(lead.lost_competitor_name, "SunPower GmbH")

    def test_competitor_that_is_not_a_contact(self):
        lead = self._new_leads()
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"), self.env.cr.savepoint():
            lead.action_set_lost(lost_reason_id=self.reason_competitor.id, lost_competitor_id=999999999)
            lead.flush_recordset()
        lead.invalidate_recordset()
        self.assertTrue(lead.active)

    @users("user_sales_salesman")
    def test_note_of_only_spaces(self):
        lead = self._new_leads(user=self.env.user)
        with self.assertRaises(UserError) as error:
            lead.action_set_lost(lost_reason_id=self.reason_timing.id, lost_note="   ")
        self.assertIn("requires a note", str(error.exception))
        self.assertTrue(lead.active)
        wizard = self.env["crm.lead.lost"].create({
            "lead_ids": lead.ids, "lost_reason_id": self.reason_timing.id, "lost_feedback": "<p>  </p>"})
        with self.assertRaises(UserError):
            wizard.action_lost_reason_apply()
        wizard.lost_feedback = "<p>Budget comes back in Q3</p>"
        wizard.action_lost_reason_apply()
        self.assertFalse(lead.active)
        self.assertEqual(lead.lost_note, "Budget comes back in Q3")

    def test_required_completed_activities(self):
        lead = self._new_leads()
        for __ in range(5):
            lead.activity_schedule("mail.mail_activity_data_call").action_feedback(feedback="No answer")
        with self.assertRaises(UserError) as error:
            lead.action_set_lost(lost_reason_id=self.reason_no_answer.id)
        self.assertIn("(5 done)", str(error.exception))
        lead.activity_schedule("mail.mail_activity_data_call").action_feedback(feedback="No answer")
        lead.action_set_lost(lost_reason_id=self.reason_no_answer.id)
        self.assertFalse(lead.active)

    def test_reason_of_another_company(self):
        other = self.env["res.company"].create({"name": "Other Co"})
        reason = self.env["crm.lost.reason"].create({"name": "Their reason", "company_id": other.id})
        lead = self._new_leads(company_id=self.env.company.id)
        with self.assertRaises(UserError) as error:
            lead.action_set_lost(lost_reason_id=reason.id)
        self.assertIn("Other Co", str(error.exception))
        self.assertTrue(lead.active)

    # ------------------------------------------------------------
    # where it was lost, restore
    # ------------------------------------------------------------

    def test_lost_keeps_stage_and_date_restore_puts_it_back(self):
        lead = self._new_leads(expected_revenue=10, partner_id=self.customer.id)
        lines = lead.checklist_line_ids
        lines[0].action_done()
        lead.action_set_lost(lost_reason_id=self.reason_competitor.id, lost_competitor_name="X")
        self.assertEqual(lead.lost_stage_id, self.stage_new)
        self.assertTrue(lead.date_closed)
        lead.sudo()._force_stage_move(self.stage_offer, "cleanup")
        lead.action_unarchive()
        self.assertTrue(lead.active)
        self.assertEqual(lead.stage_id, self.stage_new, "back in the stage it was lost in")
        self.assertFalse(lead.lost_reason_id)
        self.assertFalse(lead.lost_competitor_name)
        self.assertFalse(lead.lost_stage_id)
        self.assertEqual(lines.mapped("state"), ["done", "open"], "checklist as it was")

    # ------------------------------------------------------------
    # transfer, won
    # ------------------------------------------------------------

    @users("user_sales_salesman")
    def test_transfer_to_another_pipeline(self):
        lead = self._new_leads(user=self.env.user)
        wizard = Form(self.env["crm.lead.transfer"].with_context(default_lead_ids=lead.ids))
        wizard.team_id = self.sales_team_1
        wizard.reason = "A household, not a company"
        wizard.save().action_transfer()
        self.assertEqual(lead.team_id, self.sales_team_1)
        self.assertEqual(lead.stage_id, self.stage_team1_1, "the first stage of that pipeline")
        self.assertTrue(lead.message_ids.filtered(lambda message: "A household" in (message.body or "")))
        stays = self.env["crm.lead.stage.history"].sudo().search([("lead_id", "=", lead.id)], order="id")
        self.assertEqual(stays.mapped("exit_type"), ["transferred", False], "the old stay closes as transferred")
        self.assertEqual(stays.team_id, self.team_process | self.sales_team_1)

    def test_transfer_applies_the_target_stage_rules(self):
        lead = self.env["crm.lead"].create({"name": "Corporate", "type": "opportunity",
                                            "team_id": self.sales_team_1.id, "stage_id": self.stage_team1_1.id})
        wizard = self.env["crm.lead.transfer"].create({
            "lead_ids": lead.ids, "team_id": self.team_process.id, "stage_id": self.stage_offer.id,
            "reason": "Solar"})
        with self.assertRaises(UserError) as error:
            wizard.action_transfer()
        self.assertIn("Expected Revenue", str(error.exception))
        self.assertEqual(lead.team_id, self.sales_team_1)

    def test_won_only_from_some_stages(self):
        self.team_process.won_from_stage_ids = self.stage_closing
        lead = self._new_leads(date_deadline=self._today(10))
        self._complete(lead, self.stage_new)
        with self.assertRaises(UserError) as error:
            lead.action_set_won()
        self.assertIn("allows winning only from", str(error.exception))
        self.assertIn("Close the deal", str(error.exception))

    def test_won_is_offered_only_where_the_pipeline_wins(self):
        """The form's "Won" is shown where the lead may be won from its stage, hidden elsewhere."""
        lead = self._new_leads(date_deadline=self._today(10), expected_revenue=10, partner_id=self.customer.id)
        arch = lead.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn("or not can_win", arch)
        self.assertTrue(lead.can_win, "no restriction: won from any stage, as in Odoo")
        self.team_process.won_from_stage_ids = self.stage_closing
        lead.invalidate_recordset(["can_win"])
        self.assertFalse(lead.can_win)
        self._complete(lead, self.stage_new)
        lead.write({"stage_id": self.stage_offer.id})
        self._complete(lead, self.stage_offer)
        self._plan_activity(lead)
        lead.write({"stage_id": self.stage_closing.id})
        self.assertTrue(lead.can_win)

    # ------------------------------------------------------------
    # speed
    # ------------------------------------------------------------

    def test_losing_100_leads_query_count(self):
        counts = {}
        for size in (10, 10, 100):  # the first run warms the caches (rules, access), as on a running server
            leads = self._new_leads(size).with_user(self.user_sales_leads)
            self.env.flush_all()
            self.env.invalidate_all()
            start = self.cr.sql_log_count
            leads.action_set_lost(lost_reason_id=self.reason_budget.id)
            self.env.flush_all()
            counts[size] = self.cr.sql_log_count - start
            self.assertFalse(any(leads.mapped("active")))
        _logger.info("queries to lose 10 / 100 leads at once: %s", counts)
        self.assertLessEqual(counts[100] - counts[10], 3, counts)


    def test_lost_lead_cancels_its_open_items_restore_reopens_them(self):
        """A lost lead leaves nobody with work on it: its open items are cancelled (Odoo deletes its
        activities); restoring it reopens them with new activities."""
        leads = self._new_leads(2, expected_revenue=10, partner_id=self.customer.id)
        self._complete(leads, self.stage_new)
        leads.write({"stage_id": self.stage_offer.id})
        lead = leads[0]
        engineer_line = lead.checklist_line_ids.filtered(lambda line: line.item_id == self.item_feasibility)
        Line = self.env["crm.lead.checklist.line"].with_user(self.user_engineer)
        self.assertIn(engineer_line, Line.search([("state", "=", "open")]))
        done = lead.checklist_line_ids.filtered(lambda line: line.state == "done")
        leads.action_set_lost(lost_reason_id=self.reason_competitor.id, lost_competitor_name="X")
        lines = leads.checklist_line_ids
        self.assertEqual(set((lines - done - leads[1].checklist_line_ids.filtered(
            lambda line: line.state == "done")).mapped("state")), {"cancelled"})
        self.assertEqual(set(done.mapped("state")), {"done"}, "what was done stays done")
        self.assertFalse(lines.activity_id)
        self.assertNotIn(engineer_line, Line.search([("state", "=", "open")]), "not in the assignee's work")
        with self.assertRaises(UserError, msg="only restoring the lead reopens them"):
            engineer_line.with_user(self.user_engineer).write({"state": "open"})
        lead.action_unarchive()
        self.assertEqual(engineer_line.state, "open")
        self.assertTrue(engineer_line.activity_id)
        self.assertEqual(engineer_line.activity_id.user_id, self.user_engineer)
        self.assertEqual(engineer_line.date_deadline, self._today(2))
        self.assertEqual(set(leads[1].checklist_line_ids.mapped("state")) - {"done"}, {"cancelled"})
        self.assertEqual(lead.checklist_progress, 0.0, "its open mandatory items count again")


@tagged("post_install", "-at_install")
class TestStageConversion(TestSalesProcessCommon):
    """Reporting: of the leads that reached a stage, how many were won, how many lost."""

    def test_win_rate_per_stage(self):
        self.team_process.lost_reason_required = False
        leads = self._new_leads(4, expected_revenue=10, partner_id=self.customer.id, date_deadline=self._today(9))
        self._complete(leads, self.stage_new)
        leads[:3].write({"stage_id": self.stage_offer.id})
        self._complete(leads[:3], self.stage_offer)
        leads[0].action_set_won()
        leads[1].action_set_lost()
        leads[3].action_set_lost()
        self.env.flush_all()
        Report = self.env["crm.stage.conversion.report"]
        domain = [("lead_id", "in", leads.ids)]
        by_stage = {stage: (count, won, lost, rate) for stage, count, won, lost, rate in Report._read_group(
            domain, ["stage_id"], ["__count", "won_count:sum", "lost_count:sum", "win_rate:avg"])}
        self.assertEqual(by_stage[self.stage_new], (4, 1, 2, 25.0))
        self.assertEqual(by_stage[self.stage_offer], (3, 1, 1, 100.0 / 3))
        # a pipeline's total counts its leads once, not once per stage they went through (the won deal
        # reached New, Offer and Won: it is one won deal)
        [(team, reached, won, lost, rate)] = Report._read_group(
            domain, ["team_id"], ["reached_count:sum", "won_count:sum", "lost_count:sum", "win_rate:avg"])
        self.assertEqual((team, reached, won, lost, rate), (self.team_process, 4, 1, 2, 25.0))
        # the menu opens on one pipeline, its stages as rows
        self.user_sales_salesman.sale_team_id = self.team_process
        action = Report.with_user(self.user_sales_salesman).action_open()
        self.assertEqual(action["context"], {"search_default_team_id": self.team_process.id})
        pivot = etree.fromstring(Report.get_views([(False, "pivot")])["views"]["pivot"]["arch"])
        self.assertEqual([node.get("name") for node in pivot.xpath("//field[@type='measure']")],
                         ["reached_count", "won_count", "lost_count", "win_rate", "loss_rate", "days_in_stage",
                          "days_in_stage_median"])
        self.assertEqual(pivot.xpath("//field[@type='row']")[0].get("name"), "stage_id")
        # a salesman sees the rows of its own leads only
        self.assertEqual(Report.with_user(self.user_sales_salesman).search_count(domain), 8)
        leads[2].user_id = self.user_sales_manager
        self.assertEqual(Report.with_user(self.user_sales_salesman).search_count(domain), 6)


@tagged("post_install", "-at_install")
class TestLostReasonOrder(TestSalesProcessCommon):
    """The lost dialog lists the reasons of the lead's pipeline first, then those of every
    pipeline; which reasons it offers is the dialog's domain, unchanged."""

    def test_the_pipeline_reasons_come_first(self):
        pv = self.env.ref("sales_process_stages.crm_team_pipeline_pv")
        Reason = self.env["crm.lost.reason"].with_user(self.user_sales_salesman)
        domain = ["|", ("team_ids", "=", False), ("team_ids", "in", pv.ids)]
        own = Reason.search([("team_ids", "in", pv.ids)])
        self.assertTrue(own)
        plain = [row[0] for row in Reason.name_search("", domain, limit=100)]
        self.assertNotEqual(set(plain[:len(own)]), set(own.ids), "alphabetical without the pipeline")
        in_pv = Reason.with_context(lost_reason_team_ids=pv.ids)
        ordered = [row[0] for row in in_pv.name_search("", domain, limit=100)]
        self.assertEqual(set(ordered[:len(own)]), set(own.ids))
        self.assertEqual(set(ordered), set(plain), "the same reasons")
        self.assertEqual(len(in_pv.name_search("", domain, limit=2)), 2)
        view = self.env["crm.lead.lost"].get_view(view_type="form")["arch"]
        self.assertIn("lost_reason_team_ids", view)
