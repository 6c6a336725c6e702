"""Per-stage checklists: lines and activities on entry, done both ways, skip, attachments, progress."""
from datetime import datetime, timedelta

from lxml import etree
from psycopg2 import IntegrityError

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, tagged, users
from odoo.tools import mute_logger
from odoo.tools.safe_eval import safe_eval

from .common import JsonRpcMixin, TestSalesProcessCommon


@tagged("post_install", "-at_install")
class TestChecklist(TestSalesProcessCommon):

    def _lines(self, lead, stage):
        return lead.checklist_line_ids.filtered(lambda line: line.stage_id == stage)

    def _lead_in_closing(self):
        lead = self._new_leads(expected_revenue=10, partner_id=self.customer.id)
        self._complete(lead, self.stage_new)
        self._plan_activity(lead)
        lead.write({"stage_id": self.stage_closing.id})
        return lead

    @users("user_sales_salesman")
    def test_entering_a_stage_gives_lines_and_activities(self):
        lead = self._new_leads(user=self.env.user)
        lines = self._lines(lead, self.stage_new)
        self.assertEqual(lines.mapped("name"), ["Call the customer", "Send the brochure"])
        self.assertEqual(lines.mapped("is_mandatory"), [True, False])
        self.assertEqual(lines.user_id, self.env.user, "the salesperson does them")
        self.assertEqual(lines.mapped("state"), ["open", "open"])
        self.assertEqual(set(lead.activity_ids.mapped("summary")), {"Call the customer", "Send the brochure"})
        self.assertEqual(lines.activity_id, lead.activity_ids)
        self.assertEqual(lead.checklist_mandatory_total, 1)
        self.assertEqual(lead.checklist_progress, 0)

    def test_responsibles_and_due_dates(self):
        lead = self._new_leads(expected_revenue=10, partner_id=self.customer.id)
        self._complete(lead, self.stage_new)
        with self.mock_datetime_and_now(datetime(2026, 3, 2, 9, 0)):
            lead.write({"stage_id": self.stage_offer.id})
        feasibility, price = self._lines(lead, self.stage_offer)
        self.assertEqual(feasibility.user_id, self.user_engineer, "a named user outside sales")
        self.assertEqual(feasibility.date_deadline, fields.Date.to_date("2026-03-04"), "2 days")
        self.assertEqual(price.user_id, self.user_analyst)
        self.assertEqual(price.date_deadline, fields.Date.to_date("2026-03-02"), "8 hours: the same day")
        self.assertEqual(feasibility.activity_id.user_id, self.user_engineer)
        self.assertEqual(feasibility.activity_id.date_deadline, feasibility.date_deadline)
        self._complete(lead, self.stage_offer)
        self._plan_activity(lead)
        lead.write({"stage_id": self.stage_closing.id})
        self.assertEqual(self._lines(lead, self.stage_closing).user_id, self.user_sales_manager, "the team leader")

    def test_marking_the_activity_done_ticks_the_line(self):
        lead = self._new_leads()
        line = self._lines(lead, self.stage_new)[0]
        line.activity_id.with_user(self.user_sales_salesman).action_feedback(feedback="Called")
        self.assertEqual(line.state, "done")
        self.assertEqual(line.done_user_id, self.user_sales_salesman)
        self.assertEqual(lead.checklist_progress, 100)

    def test_ticking_the_line_marks_the_activity_done(self):
        lead = self._new_leads()
        line = self._lines(lead, self.stage_new)[0]
        activity = line.activity_id
        line.with_user(self.user_sales_salesman).action_done()
        self.assertFalse(activity.exists())
        self.assertEqual(line.state, "done")
        self.assertTrue(lead.message_ids.filtered(lambda message: message.mail_activity_type_id),
                        "the done activity is logged in the chatter")

    def test_skip_optional_with_reason(self):
        lead = self._new_leads()
        mandatory, optional = self._lines(lead, self.stage_new).with_user(self.user_sales_salesman)
        with self.assertRaises(UserError):
            mandatory.write({"skip_reason": "No time"})
            mandatory.action_confirm_skip()
        with self.assertRaises(UserError, msg="a reason of only spaces is no reason"):
            optional.write({"skip_reason": "   "})
            optional.action_confirm_skip()
        activity = optional.activity_id
        optional.write({"skip_reason": "Customer has it already"})
        optional.action_confirm_skip()
        self.assertEqual(optional.state, "skipped")
        self.assertFalse(activity.exists())
        self.assertEqual(mandatory.state, "open")

    def test_items_of_a_stage_left_are_no_longer_overdue(self):
        """An open item past its date is overdue (red) while the lead is in its stage; the optional
        item of a stage the lead has left stays open, no longer overdue, in the list and the filter."""
        lead = self._new_leads(expected_revenue=10, partner_id=self.customer.id)
        brochure = self._lines(lead, self.stage_new).filtered(lambda line: not line.is_mandatory)
        brochure.sudo().date_deadline = fields.Date.today() - timedelta(days=3)
        Line = self.env["crm.lead.checklist.line"]
        self.assertTrue(brochure.is_overdue)
        self.assertIn(brochure, Line.search([("is_overdue", "=", True)]))
        self._complete(lead, self.stage_new)
        self._plan_activity(lead)
        lead.write({"stage_id": self.stage_offer.id})
        self.assertEqual(brochure.state, "open", "optional: still open, it can be done")
        self.assertFalse(brochure.is_overdue)
        self.assertNotIn(brochure, Line.search([("is_overdue", "=", True)]))
        self.assertIn(brochure, Line.search([("is_overdue", "=", False)]))
        lead.write({"stage_id": self.stage_new.id})  # back in its stage: overdue again
        self.assertTrue(brochure.is_overdue)
        self.assertIn(brochure, Line.search([("is_overdue", "!=", False)]))

    def test_open_mandatory_items_block_leaving_forward_only(self):
        lead = self._new_leads(expected_revenue=10, partner_id=self.customer.id)
        with self.assertRaises(UserError) as error:
            lead.write({"stage_id": self.stage_offer.id})
        self.assertIn("Call the customer", str(error.exception))
        self.assertNotIn("Send the brochure", str(error.exception), "optional items do not block")
        self._complete(lead, self.stage_new)
        lead.write({"stage_id": self.stage_offer.id})
        # moving back with open items is not leaving forward
        lead.write({"stage_id": self.stage_new.id})
        self.assertEqual(lead.stage_id, self.stage_new)

    def test_reentering_reuses_lines(self):
        lead = self._new_leads(expected_revenue=10, partner_id=self.customer.id)
        self._complete(lead, self.stage_new)
        lead.write({"stage_id": self.stage_offer.id})
        lead.write({"stage_id": self.stage_new.id})
        lines = self._lines(lead, self.stage_new)
        self.assertEqual(len(lines), 2, "no duplicates")
        self.assertEqual(lines.mapped("state"), ["done", "open"], "kept as they were")
        self.assertEqual(lead.checklist_progress, 100)

    def test_editing_a_template_never_rewrites_lines(self):
        lead = self._new_leads()
        self._complete(lead, self.stage_new)
        self.item_call.write({"name": "Call the customer twice", "is_mandatory": False})
        line = self._lines(lead, self.stage_new)[0]
        self.assertEqual(line.name, "Call the customer")
        self.assertTrue(line.is_mandatory)
        self.assertEqual(line.state, "done")
        self.assertEqual(self._new_leads().checklist_line_ids[0].name, "Call the customer twice")

    def test_line_names_follow_the_users_language(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.item_call.with_context(lang="fr_FR").name = "Appeler le client"
        line = self._lines(self._new_leads(), self.stage_new)[0]
        self.assertEqual(line.with_context(lang="fr_FR").name, "Appeler le client")
        self.assertEqual(line.with_context(lang="en_US").name, "Call the customer")

    def test_needs_attachment(self):
        lead = self._lead_in_closing()
        line = self._lines(lead, self.stage_closing)
        with self.assertRaises(UserError) as error:
            line.action_done()
        self.assertIn("Attach the signed contract", str(error.exception))
        with self.assertRaises(UserError, msg="the activity cannot be done without the file either"):
            line.activity_id.action_feedback()
        self.assertEqual(line.state, "open")
        self.env["ir.attachment"].create({
            "name": "contract.pdf", "raw": b"%PDF signed", "res_model": "crm.lead", "res_id": lead.id})
        line.action_done()
        self.assertEqual(line.state, "done")

    def test_attachment_given_when_marking_the_activity_done(self):
        lead = self._lead_in_closing()
        line = self._lines(lead, self.stage_closing)
        attachment = self.env["ir.attachment"].create({
            "name": "contract.pdf", "raw": b"%PDF signed", "res_model": "mail.activity",
            "res_id": line.activity_id.id})
        line.activity_id.action_feedback(feedback="Signed", attachment_ids=attachment.ids)
        self.assertEqual(line.state, "done")

    def test_attachment_before_entering_the_stage_does_not_count(self):
        lead = self._new_leads(expected_revenue=10, partner_id=self.customer.id)
        self.env["ir.attachment"].create({
            "name": "old.pdf", "raw": b"%PDF", "res_model": "crm.lead", "res_id": lead.id})
        self._complete(lead, self.stage_new)
        self._plan_activity(lead)
        with self.mock_datetime_and_now(datetime.now() + timedelta(hours=1)):
            lead.write({"stage_id": self.stage_closing.id})
        with self.assertRaises(UserError):
            self._lines(lead, self.stage_closing).action_done()

    def test_bad_templates_are_refused(self):
        Item = self.env["crm.stage.checklist.item"]
        with self.assertRaises(ValidationError):
            Item.create({"stage_id": self.stage_new.id, "name": "   "})
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"):
            with self.env.cr.savepoint():
                Item.create({"stage_id": self.stage_new.id, "name": "Late", "due_offset": -1})
        with self.assertRaises(ValidationError):
            Item.create({"stage_id": self.stage_new.id, "name": "Nobody", "responsible_type": "user"})
        self.user_engineer.active = False
        with self.assertRaises(ValidationError):
            Item.create({"stage_id": self.stage_new.id, "name": "Ghost", "responsible_type": "user",
                         "responsible_user_id": self.user_engineer.id})

    def test_archived_template_is_not_given(self):
        self.item_brochure.active = False
        lead = self._new_leads()
        self.assertEqual(lead.checklist_line_ids.mapped("name"), ["Call the customer"])


@tagged("post_install", "-at_install")
class TestChecklistAssignee(TestSalesProcessCommon):
    """People without CRM rights see and complete only their own items and the lead's name."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.lead = cls.env["crm.lead"].create({
            "name": "Roof of the town hall", "type": "opportunity", "team_id": cls.team_process.id,
            "user_id": cls.user_sales_salesman.id, "stage_id": cls.stage_new.id,
            "expected_revenue": 50000, "partner_id": cls.customer.id})
        cls.lead.checklist_line_ids.filtered("is_mandatory").sudo().action_done()
        cls.lead.write({"stage_id": cls.stage_offer.id})

    @users("user_engineer")
    def test_assignee_sees_only_own_items_and_the_lead_name(self):
        lines = self.env["crm.lead.checklist.line"].search([])
        self.assertEqual(lines.mapped("name"), ["Technical feasibility"])
        self.assertEqual(lines.lead_name, "Roof of the town hall")
        with self.assertRaises(AccessError):
            lines.lead_id.read(["expected_revenue"])
        with self.assertRaises(AccessError):
            self.env["crm.lead"].search([]).read(["name"])
            self.env["crm.lead"].browse(self.lead.id).read(["name"])

    @users("user_engineer")
    def test_assignee_completes_own_item(self):
        line = self.env["crm.lead.checklist.line"].search([])
        line.action_done()
        self.assertEqual(line.state, "done")
        self.assertEqual(line.done_user_id, self.user_engineer)
        other = self.lead.checklist_line_ids.filtered(lambda line: line.user_id == self.user_analyst)
        with self.assertRaises(AccessError):
            other.with_user(self.env.user).action_done()

    @users("user_engineer")
    def test_assignee_note_and_file_in_the_lead_chatter(self):
        """Done on the line: the lead's chatter shows the assignee's note and file, not the item's
        instructions."""
        line = self.env["crm.lead.checklist.line"].search([])
        line.sudo().item_id.description = "Check the roof's orientation and shading"
        line.activity_id.sudo().note = "<p>Check the roof's orientation and shading</p>"
        line.write({"note": "Roof faces south, no shading", "file_ids": [(0, 0, {
            "name": "roof.jpg", "raw": b"jpeg", "res_model": "crm.lead.checklist.line", "res_id": line.id})]})
        line.action_done()
        message = self.lead.sudo().message_ids.filtered(
            lambda message: message.subtype_id == self.env.ref("mail.mt_activities"))[:1]
        self.assertIn("Roof faces south, no shading", message.body)
        self.assertNotIn("orientation and shading", message.body, "the instructions were the assignee's")
        self.assertEqual(message.attachment_ids.mapped("name"), ["roof.jpg"])
        self.assertEqual(line.file_ids.mapped("name"), ["roof.jpg"], "the file stays on the item too")

    @users("user_engineer")
    def test_assignee_marks_the_activity_done_from_my_activities(self):
        activity = self.env["mail.activity"].search([("user_id", "=", self.env.uid)])
        self.assertEqual(activity.summary, "Technical feasibility")
        activity.action_feedback(feedback="Feasible")
        line = self.lead.checklist_line_ids.filtered(lambda line: line.user_id == self.user_engineer)
        self.assertEqual(line.state, "done")

    @users("user_engineer")
    def test_assignee_opens_my_checklist_items(self):
        """The "Checklist" app of people without CRM rights: the list, its search, the lead's name."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sales_process_stages.crm_lead_checklist_line_action_my")
        Line = self.env["crm.lead.checklist.line"]
        views = Line.get_views([(False, "list"), (False, "search")])
        fields_spec = {name: {} for name in views["models"]["crm.lead.checklist.line"]["fields"]}
        fields_spec["stage_id"] = {"fields": {"display_name": {}}}
        domain = [("user_id", "=", self.env.uid), ("lead_name", "ilike", "town hall")]
        result = Line.with_context(**safe_eval(action["context"], {"uid": self.env.uid})).web_search_read(
            domain, fields_spec)
        self.assertEqual(result["length"], 1)
        self.assertEqual(result["records"][0]["lead_name"], "Roof of the town hall")
        menu = self.env.ref("sales_process_stages.menu_checklist_root")
        self.assertIn(menu.id, self.env["ir.ui.menu"]._visible_menu_ids())


@tagged("post_install", "-at_install")
class TestChecklistItemForm(TestSalesProcessCommon):
    """The engineer's item: a form with the instructions, the customer and the site, the due date and
    a place to attach the file; they are told when an item is theirs."""

    def test_the_engineers_item_form(self):
        self.item_feasibility.description = "Check the roof's load and the panel's capacity."
        self.customer.write({"street": "12 Sun Street", "zip": "1000", "city": "Brussels"})
        lead = self._new_leads(expected_revenue=10, partner_id=self.customer.id, street="3 Roof Lane",
                               zip="2000", city="Antwerp")
        self._complete(lead, self.stage_new)
        lead.write({"stage_id": self.stage_offer.id})
        Line = self.env["crm.lead.checklist.line"].with_user(self.user_engineer)
        line = Line.search([])
        self.assertEqual(len(line), 1)
        self.assertEqual(line.lead_partner_name, "Sunny Roofs Ltd")
        self.assertEqual(line.lead_address, "3 Roof Lane, 2000 Antwerp")
        self.assertEqual(line.description, "Check the roof's load and the panel's capacity.")
        form = etree.fromstring(Line.get_views([(False, "form")])["views"]["form"]["arch"])
        names = {node.get("name") for node in form.iter("field")}
        self.assertTrue({"description", "lead_partner_name", "lead_address", "date_deadline", "file_ids"} <= names)
        self.assertTrue(form.xpath("//field[@name='user_id'][@readonly='1']"), "the assignee reads who does it")
        action = self.env["ir.actions.act_window"]._for_xml_id("sales_process_stages.crm_lead_checklist_line_action_my")
        self.assertIn("form", action["view_mode"])
        # the file attached on the item, by the assignee: the item needing one can then be done
        self.item_price.needs_attachment = True
        attachment = self.env["ir.attachment"].with_user(self.user_engineer).create({
            "name": "feasibility.pdf", "raw": b"%PDF-1.4", "res_model": line._name, "res_id": line.id})
        line.write({"file_ids": [(6, 0, attachment.ids)], "note": "Feasible"})
        self.assertEqual(line.attachment_ids, attachment)
        line.action_done()
        self.assertEqual(line.state, "done")

    def test_the_assignee_is_told(self):
        """The engineer hears of the item assigned to them when the lead enters the stage (Odoo's
        activity assignment, in their inbox), and when the item is reassigned to them."""
        lead = self._new_leads(expected_revenue=10, partner_id=self.customer.id)
        self._complete(lead, self.stage_new)
        with self.mock_mail_app():
            lead.with_user(self.user_sales_salesman).write({"stage_id": self.stage_offer.id})
        told = self._new_msgs.filtered(lambda message: self.user_engineer.partner_id in message.partner_ids)
        self.assertTrue(told, "the engineer is notified of the item assigned")
        self.assertIn("Technical feasibility", told[0].body)
        self.assertEqual(told[0].model, "crm.lead")
        line = lead.checklist_line_ids.filtered(lambda line: line.item_id == self.item_price)
        with self.mock_mail_app():
            line.with_user(self.user_sales_salesman).write({"user_id": self.user_engineer.id})
        self.assertEqual(line.activity_id.user_id, self.user_engineer)
        self.assertTrue(self._new_msgs.filtered(lambda message: self.user_engineer.partner_id in message.partner_ids),
                        "the new assignee is notified")


@tagged("post_install", "-at_install")
class TestChecklistActivityCancelRpc(TestSalesProcessCommon, JsonRpcMixin, HttpCase):
    """Cancelling an item's activity from the activity menu (Odoo's client deletes it) is refused:
    the item would stay to do with nobody reminded; it is done or skipped on its line."""

    def test_cancelling_an_item_activity_is_refused(self):
        lead = self._new_leads()
        lines = lead.checklist_line_ids.filtered(lambda line: line.stage_id == self.stage_new)
        for line in lines:  # a mandatory item and an optional one
            with self.subTest(item=line.name):
                activity = line.activity_id
                result, error = self._rpc("mail.activity", "unlink", [activity.ids])
                self.assertEqual(error and error[0], "odoo.exceptions.UserError")
                self.assertIn(line.name, error[1])
                self.assertIn("skip it with a reason", error[1])
                self.assertTrue(activity.exists())
                self.assertEqual((line.state, line.activity_id), ("open", activity))

    def test_the_process_own_paths_still_end_the_activities(self):
        lead = self._new_leads()
        call, brochure = lead.checklist_line_ids.filtered(lambda line: line.stage_id == self.stage_new)
        own = lead.activity_schedule("mail.mail_activity_data_todo", summary="My own reminder",
                                     user_id=self.user_sales_salesman.id)
        result, error = self._rpc("mail.activity", "unlink", [own.ids])
        self.assertIsNone(error, "an activity of no item is the rep's to cancel")
        self.assertFalse(own.exists())
        result, error = self._rpc("crm.lead.checklist.line", "write", [brochure.ids, {
            "state": "skipped", "skip_reason": "Sent by post"}])
        self.assertIsNone(error)
        self.assertEqual((brochure.state, brochure.activity_id), ("skipped", self.env["mail.activity"]))
        activity = call.activity_id
        result, error = self._rpc("mail.activity", "action_feedback", [activity.ids], {"feedback": "Called"})
        self.assertIsNone(error, error)
        self.assertEqual(call.state, "done")
        other = self._new_leads()
        result, error = self._rpc("crm.lead", "action_set_lost", [other.ids], {
            "lost_reason_id": self.lost_reason.id})
        self.assertIsNone(error, error)
        self.assertFalse(other.activity_ids.exists())


@tagged("post_install", "-at_install")
class TestChecklistTransfer(TestSalesProcessCommon):
    """A lead transferred to another pipeline leaves its old stage's items: cancelled, the transfer
    their reason, nobody reminded; entering that stage again makes them to do again."""

    def _lead_in_offer(self):
        lead = self._new_leads(expected_revenue=10, partner_id=self.customer.id)
        self._complete(lead, self.stage_new)
        lead.write({"stage_id": self.stage_offer.id})
        return lead

    def test_transfer_cancels_the_old_stage_items_and_coming_back_reopens_them(self):
        lead = self._lead_in_offer()
        offer_lines = lead.checklist_line_ids.filtered(lambda line: line.stage_id == self.stage_offer)
        self.assertEqual(set(offer_lines.mapped("state")), {"open"})
        activities = offer_lines.activity_id
        self.assertTrue(activities)
        done = lead.checklist_line_ids.filtered(lambda line: line.state == "done")
        self.assertTrue(done)
        lead.with_user(self.user_sales_manager).write({"team_id": self.team_plain.id,
                                                       "stage_id": self.stage_plain_new.id})
        self.assertEqual(set(offer_lines.mapped("state")), {"cancelled"})
        self.assertFalse(activities.exists(), "the engineer is no longer reminded")
        self.assertIn(self.team_plain.name, offer_lines[0].skip_reason)
        self.assertEqual(set(done.mapped("state")), {"done"}, "work done stays done")
        # back to the process pipeline, into the offer stage: its items are to do again
        lead.with_user(self.user_sales_manager).write({"team_id": self.team_process.id,
                                                       "stage_id": self.stage_offer.id})
        self.assertEqual(lead.stage_id, self.stage_offer)
        self.assertEqual(set(offer_lines.mapped("state")), {"open"})
        self.assertFalse(any(offer_lines.mapped("skip_reason")))
        self.assertEqual(len(offer_lines.activity_id), len(activities))

    def test_a_lost_and_restored_lead_keeps_the_transfer_cancelled_items(self):
        lead = self._lead_in_offer()
        offer_lines = lead.checklist_line_ids.filtered(lambda line: line.stage_id == self.stage_offer)
        lead.with_user(self.user_sales_manager).write({"team_id": self.team_plain.id,
                                                       "stage_id": self.stage_plain_new.id})
        lead.action_set_lost(lost_reason_id=self.lost_reason.id)
        lead.action_unarchive()
        self.assertEqual(lead.team_id, self.team_plain)
        self.assertEqual(set(offer_lines.mapped("state")), {"cancelled"}, "another pipeline's items")
