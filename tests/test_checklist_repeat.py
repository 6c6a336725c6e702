"""Stages that repeat (issue #22): an item "Again on Each Entry" is to do again each time the
lead comes back to its stage, and a step names the earlier step it sends the lead back to when it
needs changes ("Needs Changes", Creatio's "changes needed → back to prepare"). Played on the
process team of ``tests/common.py`` and on the seeded B2B pipeline, as the salesman and the team
leader over JSON-RPC."""

from contextlib import contextmanager
from pathlib import Path

from lxml import etree

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, tagged

import odoo.addons.sales_process_stages as addon

from .common import TestSalesProcessCommon
from .test_checklist_approvals import B2bContractRpcCase

B2B_DATA = Path(addon.__file__).parent / "data" / "crm_pipeline_b2b_data.xml"


class RepeatCommon(TestSalesProcessCommon):

    @contextmanager
    def assertRefusal(self, fragment):
        """A ValidationError naming ``fragment`` (rolled back, as ``assertRaises`` does)."""
        with self.assertRaises(ValidationError) as refused:
            yield
        self.assertIn(fragment, str(refused.exception))

    def _line(self, leads, item):
        return leads.checklist_line_ids.filtered(lambda line: line.item_id == item)

    def _leads_in_offer(self, count=1):
        leads = self._new_leads(count, expected_revenue=10, partner_id=self.customer.id)
        self._complete(leads, self.stage_new)
        leads.write({"stage_id": self.stage_offer.id})
        return leads


@tagged("post_install", "-at_install")
class TestAgainOnEachEntry(RepeatCommon):

    def test_coming_back_reopens_the_item_with_a_new_activity_and_keeps_the_others(self):
        self.item_call.repeat_on_entry = True
        lead = self._new_leads(expected_revenue=10, partner_id=self.customer.id)
        call, brochure = self._line(lead, self.item_call), self._line(lead, self.item_brochure)
        first_activity = call.activity_id
        call.with_user(self.user_sales_salesman).action_done()
        brochure.with_user(self.user_sales_salesman).action_done()
        lead.write({"stage_id": self.stage_offer.id})
        feasibility = self._line(lead, self.item_feasibility)
        feasibility.with_user(self.user_engineer).action_done()
        # back to New: the call is to do again, the brochure stays sent
        lead.write({"stage_id": self.stage_new.id})
        self.assertEqual(call.state, "open")
        self.assertFalse(call.done_user_id | call.done_user_id)
        self.assertTrue(call.activity_id.active)
        self.assertNotEqual(call.activity_id, first_activity, "a new activity")
        self.assertEqual(call.activity_id.user_id, self.user_sales_salesman)
        self.assertEqual(call.date_deadline, self._today(1), "due as the item says, from now")
        self.assertEqual(brochure.state, "done")
        self.assertEqual(len(lead.checklist_line_ids), 4, "the same lines: none added")
        self.assertEqual((lead.checklist_mandatory_done, lead.checklist_mandatory_total), (0, 1))
        # the open call blocks leaving forward again
        with self.assertRefusal("Call the customer"):
            lead.write({"stage_id": self.stage_offer.id})
        # Offer's items are not "again on each entry": the feasibility done before stays done
        self._complete(lead, self.stage_new)
        lead.write({"stage_id": self.stage_offer.id})
        self.assertEqual(feasibility.state, "done")

    def test_items_not_marked_keep_their_state(self):
        lead = self._new_leads(expected_revenue=10, partner_id=self.customer.id)
        self._complete(lead, self.stage_new)
        call = self._line(lead, self.item_call)
        lead.write({"stage_id": self.stage_offer.id})
        lead.write({"stage_id": self.stage_new.id})
        self.assertEqual(call.state, "done", "as before the issue: an item is done once")

    def test_skipped_item_is_to_do_again(self):
        self.item_brochure.repeat_on_entry = True
        lead = self._new_leads(expected_revenue=10, partner_id=self.customer.id)
        brochure = self._line(lead, self.item_brochure)
        brochure.with_user(self.user_sales_salesman).write({"skip_reason": "Has it"})
        brochure.with_user(self.user_sales_salesman).action_confirm_skip()
        self._complete(lead, self.stage_new)
        lead.write({"stage_id": self.stage_offer.id})
        lead.write({"stage_id": self.stage_new.id})
        self.assertEqual((brochure.state, brochure.skip_reason), ("open", False))
        self.assertTrue(brochure.activity_id)

    def test_restoring_a_lost_lead_in_its_stage_is_no_new_entry(self):
        self.item_call.repeat_on_entry = True
        lead = self._new_leads()
        brochure = self._line(lead, self.item_brochure)
        call = self._line(lead, self.item_call)
        call.action_done()
        lead.action_set_lost(lost_reason_id=self.lost_reason.id)
        self.assertEqual(brochure.state, "cancelled")
        lead.action_unarchive()
        self.assertEqual((call.state, brochure.state), ("done", "open"), "picks up where it was lost")

    def test_steps_run_in_order_again(self):
        """Feasibility again on each entry; the price calculation waits for it: coming back, the
        feasibility is to do again and the price calculation waits again, then starts after it."""
        self.item_feasibility.repeat_on_entry = True
        self.item_price.depends_on_ids = self.item_feasibility
        lead = self._leads_in_offer()
        feasibility, price = self._line(lead, self.item_feasibility), self._line(lead, self.item_price)
        feasibility.with_user(self.user_engineer).action_done()
        price.with_user(self.user_analyst).action_done()
        lead.write({"stage_id": self.stage_new.id})
        lead.write({"stage_id": self.stage_offer.id})
        self.assertEqual((feasibility.state, price.state), ("open", "waiting"))
        self.assertEqual(feasibility.activity_id.user_id, self.user_engineer)
        self.assertFalse(price.activity_id)
        feasibility.with_user(self.user_engineer).action_done()
        self.assertEqual(price.state, "open")
        self.assertEqual(price.activity_id.user_id, self.user_analyst)

    def test_a_repeated_step_waits_for_an_open_step_before_it(self):
        """Price calculation again on each entry, after the feasibility: with the feasibility
        reopened by hand meanwhile, the price calculation waits for it instead of opening."""
        self.item_price.repeat_on_entry = True
        self.item_price.depends_on_ids = self.item_feasibility
        lead = self._leads_in_offer()
        feasibility, price = self._line(lead, self.item_feasibility), self._line(lead, self.item_price)
        feasibility.with_user(self.user_engineer).action_done()
        price.with_user(self.user_analyst).action_done()
        lead.write({"stage_id": self.stage_new.id})
        # the feasibility is reopened while the lead is in New (the price waits again)
        feasibility.with_user(self.user_sales_salesman).action_reopen()
        self.assertEqual(price.state, "waiting")
        lead.write({"stage_id": self.stage_offer.id})
        self.assertEqual((feasibility.state, price.state), ("open", "waiting"))
        self.assertFalse(price.activity_id)

    def test_many_leads_come_back_at_once(self):
        self.item_call.repeat_on_entry = True
        leads = self._new_leads(5, expected_revenue=10, partner_id=self.customer.id)
        self._complete(leads, self.stage_new)
        leads.write({"stage_id": self.stage_offer.id})
        leads.write({"stage_id": self.stage_new.id})
        calls = self._line(leads, self.item_call)
        self.assertEqual(set(calls.mapped("state")), {"open"})
        self.assertEqual(len(calls.activity_id.filtered("active")), 5)

    def test_reopening_by_hand_gives_a_new_activity(self):
        lead = self._new_leads()
        call = self._line(lead, self.item_call)
        call.with_user(self.user_sales_salesman).action_done()
        done_activity = call.activity_id
        call.with_user(self.user_sales_salesman).action_reopen()
        self.assertEqual(call.state, "open")
        self.assertTrue(call.activity_id.active)
        self.assertNotEqual(call.activity_id, done_activity)
        # reopening an open item (over RPC: the button is hidden) gives it no second activity
        call.with_user(self.user_sales_salesman).action_reopen()
        self.assertEqual(len(lead.activity_ids.filtered(lambda activity: activity.summary == call.name)), 1)


@tagged("post_install", "-at_install")
class TestSendBackConfiguration(RepeatCommon):

    def test_sends_back_to_an_earlier_item_of_its_stage_only(self):
        Item = self.env["crm.stage.checklist.item"]
        with self.assertRefusal("earlier item of its own stage"):
            Item.create({"stage_id": self.stage_offer.id, "name": "Review", "sequence": 1,
                         "send_back_item_id": self.item_price.id})  # a later item
        with self.assertRefusal("earlier item of its own stage"):
            Item.create({"stage_id": self.stage_offer.id, "name": "Review", "sequence": 5,
                         "send_back_item_id": self.item_call.id})  # another stage
        with self.assertRefusal("earlier item of its own stage"):
            self.item_price.send_back_item_id = self.item_price  # itself
        self.item_price.send_back_item_id = self.item_feasibility
        self.assertEqual(self.item_price.send_back_item_id, self.item_feasibility)
        with self.assertRefusal("earlier item of its own stage"):
            self.item_feasibility.stage_id = self.stage_new  # the target leaves the stage

    def test_copied_stage_sends_back_to_its_own_copies(self):
        self.item_price.send_back_item_id = self.item_feasibility
        copy = self.stage_offer.copy()
        items = {item.name: item for item in copy.checklist_item_ids}
        self.assertEqual(items["Price calculation"].send_back_item_id, items["Technical feasibility"])

    def test_salesman_cannot_configure_it(self):
        with self.assertRaises(AccessError):
            self.item_price.with_user(self.user_sales_salesman).write(
                {"send_back_item_id": self.item_feasibility.id, "repeat_on_entry": True})


@tagged("post_install", "-at_install")
class TestNeedsChanges(B2bContractRpcCase):
    """On the seeded B2B pipeline: "Approve the contract" (the team leader's approval) and
    "Attach the signed contract" send the lead back to "Prepare the contract"."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # as a new install seeds them (the data is noupdate: databases installed before keep theirs)
        (cls.item_approve | cls.item_signed).send_back_item_id = cls.item_prepare

    def _line(self, lead, item):
        return lead.checklist_line_ids.filtered(lambda line: line.item_id == item)

    def _lead_in_contract(self):
        lead = self.env["crm.lead"].create({
            "name": "Fleet of laptops", "type": "opportunity", "team_id": self.team_b2b.id,
            "stage_id": self.stage_contract.id, "user_id": self.user_sales_salesman.id,
            "partner_id": self.customer.id, "expected_revenue": 50000})
        self._line(lead, self.item_prepare).with_user(self.user_sales_salesman).action_done()
        return lead

    def _states(self, lead):
        lead.checklist_line_ids.invalidate_recordset()
        return tuple(self._line(lead, item).state for item in (self.item_prepare, self.item_approve, self.item_signed))

    def test_seeded_send_backs(self):
        """A new install seeds them: "Approve the contract" and "Attach the signed contract" send the
        lead back to "Prepare the contract", which sends back nowhere."""
        root = etree.parse(str(B2B_DATA)).getroot()
        seeded = {}  # an item's fields may be given by more than one record (the signed contract's target stage)
        for record in root.iter("record"):
            if record.get("model") == "crm.stage.checklist.item":
                field = record.find("field[@name='send_back_item_id']")
                seeded[record.get("id")] = seeded.get(record.get("id")) if field is None else field
        prepare = "crm_stage_checklist_item_b2b_contract_prepare"
        for xmlid in ("crm_stage_checklist_item_b2b_contract_approve",
                      "crm_stage_checklist_item_b2b_contract_signed_contract"):
            self.assertEqual(seeded[xmlid].get("ref"), prepare, xmlid)
        self.assertIsNone(seeded[prepare])
        self.assertEqual(sum(field is not None for field in seeded.values()), 2, "nowhere else")

    def test_leader_asks_for_changes_and_the_contract_is_prepared_and_approved_again(self):
        lead = self._lead_in_contract()
        prepare, approve = self._line(lead, self.item_prepare), self._line(lead, self.item_approve)
        approve_activity = approve.activity_id
        self.assertTrue(approve_activity)
        __, error = self._rpc("crm.lead.checklist.line", "action_send_back",
                              [approve.ids, "The payment terms must be 30 days"], login=self.leader.login)
        self.assertIsNone(error)
        self.assertEqual(self._states(lead), ("open", "waiting", "waiting"))
        self.assertEqual(prepare.activity_id.user_id, self.user_sales_salesman, "the salesman prepares again")
        self.assertTrue(prepare.activity_id.active)
        self.assertFalse(approve_activity.exists(), "the approval waits again: its activity is withdrawn")
        self.flush_tracking()
        message = lead.message_ids[0]
        self.assertIn("The payment terms must be 30 days", message.body)
        self.assertIn("Prepare the contract", message.body)
        self.assertEqual(message.author_id, self.leader.partner_id)
        # prepared again: the approval is the leader's again, and only his
        __, error = self._rpc("crm.lead.checklist.line", "action_done", [prepare.ids])
        self.assertIsNone(error)
        self.assertEqual(self._states(lead), ("done", "open", "waiting"))
        self.assertEqual(approve.activity_id.user_id, self.leader)
        self.assertRefused(self._rpc("crm.lead.checklist.line", "action_done", [approve.ids]), "the team leader")

    def test_salesman_cannot_reject_the_leaders_approval(self):
        lead = self._lead_in_contract()
        approve = self._line(lead, self.item_approve)
        self.assertRefused(self._rpc("crm.lead.checklist.line", "action_send_back", [approve.ids, "No"]),
                           "the team leader")
        # nor through the dialog
        __, error = self._rpc("crm.lead.checklist.line.send.back", "create",
                              [{"line_id": approve.id, "reason": "No"}])
        self.assertIsNone(error)
        wizard = self.env["crm.lead.checklist.line.send.back"].search([], order="id desc", limit=1)
        self.assertRefused(self._rpc("crm.lead.checklist.line.send.back", "action_send_back", [wizard.ids]),
                           "the team leader")
        self.assertEqual(self._states(lead), ("done", "open", "waiting"))

    def test_customer_asks_for_changes_before_signing(self):
        """The salesman sends the signed-contract step back: the contract is prepared again and
        the leader approves again (sending back never completes anything)."""
        lead = self._lead_in_contract()
        __, error = self._rpc("crm.lead.checklist.line", "action_done", [self._line(lead, self.item_approve).ids],
                              login=self.leader.login)
        self.assertIsNone(error)
        signed = self._line(lead, self.item_signed)
        self.assertEqual(self._states(lead), ("done", "done", "open"))
        __, error = self._rpc("crm.lead.checklist.line", "action_send_back",
                              [signed.ids, "The customer wants another delivery date"])
        self.assertIsNone(error)
        self.assertEqual(self._states(lead), ("open", "waiting", "waiting"))
        approve = self._line(lead, self.item_approve)
        self.assertFalse(approve.done_user_id)
        # the salesman cannot send back again to skip anything, nor approve
        self.assertRefused(self._rpc("crm.lead.checklist.line", "action_send_back", [signed.ids, "Again"]),
                           "current stage")
        self.assertRefused(self._rpc("crm.lead.checklist.line", "action_done", [approve.ids]), "wait")

    def test_refusals(self):
        lead = self._lead_in_contract()
        prepare, approve = self._line(lead, self.item_prepare), self._line(lead, self.item_approve)
        # a reason is needed
        self.assertRefused(self._rpc("crm.lead.checklist.line", "action_send_back", [approve.ids, "  "],
                                     login=self.leader.login), "Say what needs changing")
        # "Prepare the contract" sends back nowhere
        self.assertRefused(self._rpc("crm.lead.checklist.line", "action_send_back", [prepare.ids, "Redo"]),
                           "does not send the lead back")
        # waiting steps have not started
        signed = self._line(lead, self.item_signed)
        self.assertRefused(self._rpc("crm.lead.checklist.line", "action_send_back", [signed.ids, "Redo"]),
                           "current stage")
        self.assertEqual(self._states(lead), ("done", "open", "waiting"))
        # an item of a stage the lead left
        lead.write({"stage_id": self.env.ref("sales_process_stages.crm_stage_b2b_negotiation").id})
        self.assertRefused(self._rpc("crm.lead.checklist.line", "action_send_back", [approve.ids, "Redo"],
                                     login=self.leader.login), "current stage")
        # another salesman's lead: no access to the line
        other = self.env["crm.lead"].create({
            "name": "Other", "type": "opportunity", "team_id": self.team_b2b.id,
            "stage_id": self.stage_contract.id, "user_id": self.user_sales_manager.id,
            "partner_id": self.customer.id, "expected_revenue": 1})
        self._line(other, self.item_prepare).action_done()
        self.assertRefused(self._rpc("crm.lead.checklist.line", "action_send_back",
                                     [self._line(other, self.item_approve).ids, "Redo"]),
                           error="odoo.exceptions.AccessError")

    def test_the_dialog(self):
        lead = self._lead_in_contract()
        approve = self._line(lead, self.item_approve)
        action = approve.with_user(self.leader).action_needs_changes()
        self.assertEqual(action["res_model"], "crm.lead.checklist.line.send.back")
        wizard_form = Form(self.env[action["res_model"]].with_user(self.leader).with_context(action["context"]))
        self.assertEqual(wizard_form.send_back_item_id, self.item_prepare)
        wizard_form.reason = "Discount above policy"
        wizard_form.save().action_send_back()
        self.assertEqual(self._states(lead), ("open", "waiting", "waiting"))

    def test_sends_back_the_done_items_from_the_step_on(self):
        """Without steps in order: the named item and the done items after it reopen, those before
        it and those not done keep their state."""
        Item = self.env["crm.stage.checklist.item"]
        stage = self.stage_new
        offer, check, review = Item.create([
            {"stage_id": stage.id, "name": "Draft the offer", "sequence": 10, "is_mandatory": False},
            {"stage_id": stage.id, "name": "Check the figures", "sequence": 11, "is_mandatory": False},
            {"stage_id": stage.id, "name": "Review the offer", "sequence": 12, "is_mandatory": False},
        ])
        review.send_back_item_id = offer
        lead = self._new_leads()
        call, offer_line, check_line, review_line = (
            self._line(lead, item) for item in (self.item_call, offer, check, review))
        (call | offer_line | check_line).action_done()
        self.assertEqual(review_line.state, "open")
        result, error = self._rpc("crm.lead.checklist.line", "action_send_back", [review_line.ids, "Wrong prices"])
        self.assertIsNone(error, error)
        self.assertTrue(result)
        lead.checklist_line_ids.invalidate_recordset()
        self.assertEqual((call.state, offer_line.state, check_line.state, review_line.state),
                         ("done", "open", "open", "open"))
        self.assertTrue(offer_line.activity_id.active and check_line.activity_id.active)
