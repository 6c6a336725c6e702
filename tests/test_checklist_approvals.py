"""Who does the work: a checklist item may name who completes it (a user, the team leader, a
group: an approval), and items are assigned to internal users only. Played over JSON-RPC as the
salesman, the team leader, a sales manager and the engineer would play them, on the seeded B2B
pipeline ("Approve the contract", the team leader's approval)."""

import importlib.util
from pathlib import Path

from odoo.exceptions import UserError, ValidationError
from odoo.tests import HttpCase, tagged

import odoo.addons.sales_process_stages as addon
from odoo.addons.mail.tests.common import mail_new_test_user

from .common import JsonRpcMixin, TestSalesProcessCommon

MIGRATION = Path(addon.__file__).parent / "migrations" / "18.0.1.4.0" / "post-migration.py"


class ChecklistRpcCase(TestSalesProcessCommon, JsonRpcMixin, HttpCase):

    def assertRefused(self, outcome, *fragments, error="odoo.exceptions.ValidationError"):
        __, refusal = outcome
        self.assertTrue(refusal, "refused")
        self.assertEqual(refusal[0], error, refusal)
        for fragment in fragments:
            self.assertIn(fragment, refusal[1])


class B2bContractRpcCase(ChecklistRpcCase):
    """The seeded B2B pipeline's "Contract" stage: prepare, approve (the team leader's), sign; the
    salesman is a member, the team leader a salesman seeing all leads (no sales manager)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ref = cls.env.ref
        cls.team_b2b = ref("sales_process_stages.crm_team_pipeline_b2b")
        cls.stage_contract = ref("sales_process_stages.crm_stage_b2b_contract")
        cls.item_prepare = ref("sales_process_stages.crm_stage_checklist_item_b2b_contract_prepare")
        cls.item_approve = ref("sales_process_stages.crm_stage_checklist_item_b2b_contract_approve")
        cls.item_signed = ref("sales_process_stages.crm_stage_checklist_item_b2b_contract_signed_contract")
        cls.leader = cls.user_sales_leads
        cls.team_b2b.write({"user_id": cls.leader.id, "member_ids": [(4, cls.user_sales_salesman.id)]})


@tagged("post_install", "-at_install")
class TestApprovals(B2bContractRpcCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.portal = mail_new_test_user(cls.env, login="user_portal_sps", name="Paula Portal",
                                        email="paula@example.com", groups="base.group_portal")

    def _lead_in_contract(self):
        """A B2B deal of the salesman in "Contract", the contract prepared: the approval is open."""
        lead = self.env["crm.lead"].create({
            "name": "Fleet of laptops", "type": "opportunity", "team_id": self.team_b2b.id,
            "stage_id": self.stage_contract.id, "user_id": self.user_sales_salesman.id,
            "partner_id": self.customer.id, "expected_revenue": 50000})
        self._line(lead, self.item_prepare).with_user(self.user_sales_salesman).action_done()
        approve = self._line(lead, self.item_approve)
        self.assertEqual(approve.state, "open")
        self.assertEqual(approve.user_id, self.leader, "the team leader's item")
        self.assertEqual(approve.completer_type, "team_leader")
        return lead

    def _line(self, lead, item):
        return lead.checklist_line_ids.filtered(lambda line: line.item_id == item)

    def test_seeded_approval(self):
        self.assertEqual(self.item_approve.completer_type, "team_leader")
        self.assertEqual(self.item_prepare.completer_type, "assignee")

    def test_migration_makes_the_seeded_approval_the_leaders(self):
        lead = self.env["crm.lead"].create({
            "name": "Old deal", "type": "opportunity", "team_id": self.team_b2b.id,
            "stage_id": self.stage_contract.id, "user_id": self.user_sales_salesman.id})
        approve = self._line(lead, self.item_approve)
        # as 18.0.1.3.0 left them (rolled back with the test); a consultant's own approval kept
        self.item_approve.completer_type = "assignee"
        approve.sudo().completer_type = "assignee"
        self.item_signed.write({"completer_type": "user", "completer_user_id": self.user_sales_manager.id})
        spec = importlib.util.spec_from_file_location("sps_migration_18_0_1_4_0", MIGRATION)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        migration.migrate(self.env.cr, "18.0.1.3.0")
        self.env.invalidate_all()
        self.assertEqual((self.item_approve.completer_type, approve.completer_type), ("team_leader", "team_leader"))
        self.assertEqual(self.item_signed.completer_type, "user")
        # an item the consultant changed is left alone
        self.item_approve.write({"completer_type": "assignee", "responsible_type": "salesperson"})
        migration.migrate(self.env.cr, "18.0.1.3.0")
        self.assertEqual(self.item_approve.completer_type, "assignee")

    def test_salesman_cannot_approve_on_any_path(self):
        lead = self._lead_in_contract()
        approve = self._line(lead, self.item_approve)
        activity = approve.activity_id
        Line = "crm.lead.checklist.line"
        for outcome in (
            self._rpc(Line, "write", [approve.ids, {"state": "done"}]),
            self._rpc(Line, "action_done", [approve.ids]),
            self._rpc("mail.activity", "action_feedback", [activity.ids], {"feedback": "Approved by me"}),
            self._rpc("mail.activity", "action_done", [activity.ids]),
        ):
            self.assertRefused(outcome, "Approve the contract", "is completed by the team leader",
                               self.leader.name)
        approve.invalidate_recordset()
        self.assertEqual(approve.state, "open")
        self.assertTrue(activity.exists(), "the activity is left as it was")
        self.assertEqual(self._line(lead, self.item_signed).state, "waiting", "nothing started")
        # nor a sales manager who is not the team leader: his way is the forced move
        self.assertRefused(self._rpc(Line, "action_done", [approve.ids], login="user_sales_manager"),
                           "is completed by the team leader")

    def test_salesman_cannot_take_the_approval_over(self):
        lead = self._lead_in_contract()
        approve = self._line(lead, self.item_approve)
        activity = approve.activity_id
        salesman = self.user_sales_salesman.id
        self.assertRefused(self._rpc("crm.lead.checklist.line", "write", [approve.ids, {"user_id": salesman}]),
                           "can only be assigned to whoever may complete it", self.leader.name)
        self.assertRefused(self._rpc("mail.activity", "write", [activity.ids, {"user_id": salesman}]),
                           "can only be assigned to whoever may complete it")
        approve.invalidate_recordset()
        activity.invalidate_recordset()
        self.assertEqual((approve.user_id, activity.user_id), (self.leader, self.leader), "nothing written")
        # the feedback then still is the leader's only
        self.assertRefused(self._rpc("mail.activity", "action_feedback", [activity.ids]), "the team leader")

    def test_team_leader_approves(self):
        lead = self._lead_in_contract()
        approve = self._line(lead, self.item_approve)
        result, error = self._rpc("mail.activity", "action_feedback", [approve.activity_id.ids],
                                  {"feedback": "Within policy"}, login=self.leader.login)
        self.assertIsNone(error)
        self.assertTrue(result)
        approve.invalidate_recordset()
        self.assertEqual((approve.state, approve.done_user_id), ("done", self.leader))
        signed = self._line(lead, self.item_signed)
        self.assertEqual(signed.state, "open", "the next step starts")
        # the leader of the pipeline when the line is ticked: a new leader approves, the former one no more
        other = self._lead_in_contract()
        self.team_b2b.user_id = self.user_sales_manager
        self.assertRefused(self._rpc("crm.lead.checklist.line", "action_done",
                                     [self._line(other, self.item_approve).ids], login=self.leader.login),
                           self.user_sales_manager.name)
        __, error = self._rpc("crm.lead.checklist.line", "action_done", [self._line(other, self.item_approve).ids],
                              login="user_sales_manager")
        self.assertIsNone(error)

    def test_reopening_the_prepared_contract_asks_for_the_approval_again(self):
        """The issue's sequence: approved, then the salesman reopens "Prepare the contract"."""
        lead = self._lead_in_contract()
        prepare, approve, signed = (self._line(lead, item)
                                    for item in (self.item_prepare, self.item_approve, self.item_signed))
        __, error = self._rpc("crm.lead.checklist.line", "action_done", [approve.ids], login=self.leader.login)
        self.assertIsNone(error)
        signed.invalidate_recordset()
        self.assertEqual(signed.state, "open")
        signed_activity = signed.activity_id
        __, error = self._rpc("crm.lead.checklist.line", "action_reopen", [prepare.ids])
        self.assertIsNone(error)
        lead.checklist_line_ids.invalidate_recordset()
        self.assertEqual((prepare.state, approve.state, signed.state), ("open", "waiting", "waiting"))
        self.assertFalse(signed_activity.exists())
        # prepared again: the leader is asked again, and only he approves
        __, error = self._rpc("crm.lead.checklist.line", "action_done", [prepare.ids])
        self.assertIsNone(error)
        approve.invalidate_recordset()
        self.assertEqual(approve.state, "open")
        self.assertEqual(approve.activity_id.user_id, self.leader)
        self.assertRefused(self._rpc("mail.activity", "action_feedback", [approve.activity_id.ids]),
                           "the team leader")

    def test_user_and_group_completers(self):
        item = self.item_prepare
        item.write({"completer_type": "user", "completer_user_id": self.user_sales_manager.id})
        lead = self.env["crm.lead"].create({
            "name": "Servers", "type": "opportunity", "team_id": self.team_b2b.id,
            "stage_id": self.stage_contract.id, "user_id": self.user_sales_salesman.id})
        prepare = self._line(lead, item)
        self.assertEqual((prepare.completer_type, prepare.completer_user_id), ("user", self.user_sales_manager))
        self.assertRefused(self._rpc("crm.lead.checklist.line", "action_done", [prepare.ids]),
                           self.user_sales_manager.name)
        # a group: its members (the engineer's group of the test, here), nobody else
        group = self.env["res.groups"].create({"name": "Contract desk", "users": [(4, self.user_engineer.id)]})
        item.write({"completer_type": "group", "completer_group_id": group.id})
        other = self.env["crm.lead"].create({
            "name": "Storage", "type": "opportunity", "team_id": self.team_b2b.id,
            "stage_id": self.stage_contract.id, "user_id": self.user_sales_salesman.id})
        prepare = self._line(other, item)
        self.assertRefused(self._rpc("crm.lead.checklist.line", "write", [prepare.ids, {"state": "done"}]),
                           "the members of Contract desk")
        # the salesperson assigns it to a member of the group: the member completes it
        __, error = self._rpc("crm.lead.checklist.line", "write", [prepare.ids, {"user_id": self.user_engineer.id}])
        self.assertIsNone(error)
        __, error = self._rpc("crm.lead.checklist.line", "action_done", [prepare.ids], login="user_engineer")
        self.assertIsNone(error)
        prepare.invalidate_recordset()
        self.assertEqual((prepare.state, prepare.done_user_id), ("done", self.user_engineer))

    def test_item_configuration(self):
        Item = self.env["crm.stage.checklist.item"]
        stage = self.stage_new.id
        with self.assertRaises(ValidationError):
            Item.create({"stage_id": stage, "name": "Approve", "completer_type": "user"})
        with self.assertRaises(ValidationError):
            Item.create({"stage_id": stage, "name": "Approve", "completer_type": "group"})
        with self.assertRaises(ValidationError):
            Item.create({"stage_id": stage, "name": "Approve", "completer_type": "user",
                         "completer_user_id": self.portal.id})
        with self.assertRaises(ValidationError, msg="items are assigned to internal users only"):
            Item.create({"stage_id": stage, "name": "Survey", "responsible_type": "user",
                         "responsible_user_id": self.portal.id})
        with self.assertRaises(ValidationError):
            self.item_feasibility.responsible_user_id = self.portal

    def test_no_line_nor_activity_goes_to_a_portal_user(self):
        lead = self._lead_in_contract()
        prepare_lead = self.env["crm.lead"].create({
            "name": "Printers", "type": "opportunity", "team_id": self.team_b2b.id,
            "stage_id": self.stage_contract.id, "user_id": self.user_sales_salesman.id})
        prepare = self._line(prepare_lead, self.item_prepare)
        activity = prepare.activity_id
        self.assertRefused(self._rpc("crm.lead.checklist.line", "write", [prepare.ids, {"user_id": self.portal.id}]),
                           "internal users", "Paula Portal")
        self.assertRefused(self._rpc("mail.activity", "write", [activity.ids, {"user_id": self.portal.id}]),
                           "internal users")
        prepare.invalidate_recordset()
        activity.invalidate_recordset()
        self.assertEqual((prepare.user_id, activity.user_id), (self.user_sales_salesman, self.user_sales_salesman))
        self.assertNotIn(self.portal.partner_id, prepare_lead.message_partner_ids, "the portal user follows nothing")
        # nor a manager, nor the approval's leader
        self.assertRefused(self._rpc("crm.lead.checklist.line", "write",
                                     [self._line(lead, self.item_approve).ids, {"user_id": self.portal.id}],
                                     login="user_sales_manager"), "internal users")
        # a portal user set as the lead's salesperson gets no item when the lead enters a stage
        portal_lead = self.env["crm.lead"].create({
            "name": "Scanners", "type": "opportunity", "team_id": self.team_b2b.id,
            "stage_id": self.stage_contract.id, "user_id": self.portal.id})
        prepare = self._line(portal_lead, self.item_prepare)
        self.assertEqual((prepare.user_id, prepare.activity_id.user_id), (self.leader, self.leader),
                         "the team leader instead")

    def test_reassigning_the_activity_reassigns_the_line(self):
        """The line's activity follows the line's rule, and the line follows its activity."""
        lead = self.env["crm.lead"].create({
            "name": "Printers", "type": "opportunity", "team_id": self.team_b2b.id,
            "stage_id": self.stage_contract.id, "user_id": self.user_sales_salesman.id})
        prepare = self._line(lead, self.item_prepare)
        __, error = self._rpc("mail.activity", "write", [prepare.activity_id.ids, {"user_id": self.user_engineer.id}])
        self.assertIsNone(error)
        prepare.invalidate_recordset()
        self.assertEqual(prepare.user_id, self.user_engineer)
        # the engineer does not pass it on: reassigning is for those who may edit the lead
        self.assertRefused(self._rpc("mail.activity", "write", [prepare.activity_id.ids,
                                                                {"user_id": self.user_analyst.id}],
                                     login="user_engineer"), "Only those who may edit the lead")
        prepare.invalidate_recordset()
        self.assertEqual((prepare.user_id, prepare.activity_id.user_id), (self.user_engineer, self.user_engineer))

    def test_the_process_itself_is_not_held_back(self):
        """The stage entry assigns the approval to its leader, the forced move goes past it."""
        lead = self._lead_in_contract()
        with self.assertRaises(UserError):
            self._line(lead, self.item_approve).with_user(self.user_sales_salesman).action_done()
        self._line(lead, self.item_approve).sudo().action_done()
        self.assertEqual(self._line(lead, self.item_approve).state, "done")


@tagged("post_install", "-at_install")
class TestStepsThatMoveTheLead(B2bContractRpcCase):
    """A step can move the lead when it is done (the B2B signed contract wins the deal), through the
    lead's gate, as the user who did it; a pipeline can lock its won deals (sales managers only)."""

    def _line(self, lead, item):
        return lead.checklist_line_ids.filtered(lambda line: line.item_id == item)

    def _approved_lead(self):
        lead = self.env["crm.lead"].create({
            "name": "Fleet of laptops", "type": "opportunity", "team_id": self.team_b2b.id,
            "stage_id": self.stage_contract.id, "user_id": self.user_sales_salesman.id,
            "partner_id": self.customer.id, "expected_revenue": 50000})
        self._line(lead, self.item_prepare).with_user(self.user_sales_salesman).action_done()
        self._line(lead, self.item_approve).with_user(self.leader).action_done()
        return lead

    def _attach(self, line):
        return self.env["ir.attachment"].with_user(self.user_sales_salesman).create({
            "name": "signed.pdf", "raw": b"%PDF", "res_model": "crm.lead.checklist.line", "res_id": line.id})

    def test_seeded_b2b_signed_contract_wins_and_locks(self):
        self.assertEqual(self.item_signed.move_to_stage_id, self.env.ref("sales_process_stages.crm_stage_b2b_won"))
        self.assertTrue(self.team_b2b.lock_won_leads)

    def test_the_signed_contract_wins_the_deal(self):
        lead = self._approved_lead()
        signed = self._line(lead, self.item_signed)
        self._attach(signed)
        __, error = self._rpc("crm.lead.checklist.line", "action_done", [signed.ids])
        self.assertIsNone(error, error)
        lead.invalidate_recordset()
        self.assertTrue(lead.stage_id.is_won)
        self.assertEqual((lead.probability, signed.state), (100, "done"))
        history = lead.stage_history_ids.sorted("id")[-1]
        self.assertEqual(history.stage_id, lead.stage_id, "a move as any other: a new stay")

    def test_a_move_the_gate_refuses_refuses_the_step(self):
        lead = self._approved_lead()
        signed = self._line(lead, self.item_signed)
        self._attach(signed)
        # the pipeline is made to win only from another stage: the gate refuses the move
        other = self.env["crm.stage"].search([("team_id", "=", self.team_b2b.id), ("is_won", "=", False),
                                              ("id", "!=", self.stage_contract.id)], limit=1)
        self.team_b2b.won_from_stage_ids = other
        result, error = self._rpc("crm.lead.checklist.line", "action_done", [signed.ids])
        self.assertEqual(error and error[0], "odoo.exceptions.ValidationError")
        signed.invalidate_recordset()
        lead.invalidate_recordset()
        self.assertEqual((signed.state, lead.stage_id), ("open", self.stage_contract), "nothing half-written")

    def test_won_deals_are_locked_for_the_salesman(self):
        lead = self._approved_lead()
        signed = self._line(lead, self.item_signed)
        self._attach(signed)
        signed.with_user(self.user_sales_salesman).action_done()
        self.assertTrue(lead.stage_id.is_won)
        for vals in ({"expected_revenue": 1}, {"stage_id": self.stage_contract.id}, {"active": False}):
            with self.subTest(vals=vals):
                result, error = self._rpc("crm.lead", "write", [lead.ids, vals])
                self.assertEqual(error and error[0], "odoo.exceptions.UserError")
                self.assertIn("locks won deals", error[1])
        lead.invalidate_recordset()
        self.assertEqual((lead.expected_revenue, lead.active), (50000, True))
        # the chatter goes on; a sales manager changes the deal
        __, error = self._rpc("crm.lead", "message_post", [lead.ids], {"body": "Invoice sent"})
        self.assertIsNone(error, error)
        __, error = self._rpc("crm.lead", "write", [lead.ids, {"expected_revenue": 48000}],
                              login="user_sales_manager")
        self.assertIsNone(error, error)
        # a pipeline that does not lock: the salesman edits his won deal as in Odoo
        self.team_b2b.lock_won_leads = False
        __, error = self._rpc("crm.lead", "write", [lead.ids, {"expected_revenue": 47000}])
        self.assertIsNone(error, error)

    def test_a_step_moves_only_to_a_stage_of_its_pipeline(self):
        foreign = self.env.ref("sales_process_stages.crm_stage_pv_won")
        with self.assertRaises(ValidationError):
            self.item_signed.move_to_stage_id = foreign
        with self.assertRaises(ValidationError):
            self.item_signed.move_to_stage_id = self.stage_contract


@tagged("post_install", "-at_install")
class TestApproveOrReject(B2bContractRpcCase):
    """An approval is approved or rejected by its approver, a rejection with a reason kept on the
    line and in the chatter, and the lead back to the step the item names."""

    def _line(self, lead, item):
        return lead.checklist_line_ids.filtered(lambda line: line.item_id == item)

    def _lead_to_approve(self):
        lead = self.env["crm.lead"].create({
            "name": "Fleet of laptops", "type": "opportunity", "team_id": self.team_b2b.id,
            "stage_id": self.stage_contract.id, "user_id": self.user_sales_salesman.id,
            "partner_id": self.customer.id, "expected_revenue": 50000})
        self._line(lead, self.item_prepare).with_user(self.user_sales_salesman).action_done()
        return lead

    def test_the_seeded_contract_approval(self):
        self.assertTrue(self.item_approve.is_approval)
        self.assertEqual(self.item_approve.send_back_item_id, self.item_prepare)

    def test_the_approver_rejects_with_a_reason_and_the_lead_goes_back(self):
        lead = self._lead_to_approve()
        prepare, approve = self._line(lead, self.item_prepare), self._line(lead, self.item_approve)
        self.assertTrue(approve.is_approval)
        self.assertRefused(self._rpc("crm.lead.checklist.line", "action_reject", [approve.ids, "Too cheap"]),
                           "the team leader")
        self.assertRefused(self._rpc("crm.lead.checklist.line", "action_reject", [approve.ids, "  "],
                                     login=self.leader.login), "Say why")
        self.assertRefused(self._rpc("crm.lead.checklist.line", "write", [approve.ids, {
            "rejection_reason": "forged"}]), "cannot be changed")
        __, error = self._rpc("crm.lead.checklist.line", "action_reject", [approve.ids, "Discount above 15 %"],
                              login=self.leader.login)
        self.assertIsNone(error, error)
        approve.invalidate_recordset()
        prepare.invalidate_recordset()
        self.assertEqual((approve.rejection_reason, approve.rejected_by_id), ("Discount above 15 %", self.leader))
        self.assertEqual((prepare.state, approve.state), ("open", "waiting"), "back to prepare the contract")
        self.flush_tracking()
        self.assertIn("Discount above 15 %", lead.message_ids[0].body)
        self.assertIn("rejected", lead.message_ids[0].body)
        # prepared again, then approved: done by the leader, the last rejection kept on the line
        prepare.with_user(self.user_sales_salesman).action_done()
        __, error = self._rpc("crm.lead.checklist.line", "action_done", [approve.ids], login=self.leader.login)
        self.assertIsNone(error, error)
        approve.invalidate_recordset()
        self.assertEqual((approve.state, approve.done_user_id), ("done", self.leader))
        self.assertEqual(approve.rejection_reason, "Discount above 15 %")

    def test_an_approval_without_a_step_to_go_back_to_is_to_do_again(self):
        self.item_approve.send_back_item_id = False
        lead = self._lead_to_approve()
        approve = self._line(lead, self.item_approve)
        approve.with_user(self.leader).action_done()
        self.assertEqual(approve.state, "done")
        approve.with_user(self.leader).action_reject("The customer changed the quantities")
        self.assertEqual(approve.state, "open")
        self.assertTrue(approve.activity_id)
        with self.assertRaises(ValidationError):
            self._line(lead, self.item_prepare).with_user(self.user_sales_salesman).action_reject("not an approval")

    def test_the_reject_dialog(self):
        lead = self._lead_to_approve()
        approve = self._line(lead, self.item_approve)
        action = approve.with_user(self.leader).action_needs_changes()
        self.assertEqual(action["name"], "Reject")
        wizard = self.env["crm.lead.checklist.line.send.back"].with_user(self.leader).create({
            "line_id": approve.id, "reason": "Wrong legal entity"})
        wizard.action_send_back()
        self.assertEqual(approve.rejection_reason, "Wrong legal entity")
