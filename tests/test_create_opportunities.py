"""Cases from a group of contacts (issue #22): "Create Opportunities" from the contacts list,
in a pipeline and its first stage (or another of its stages), for the selected contacts with no
opportunity open there, in one ``create`` through the lead's gate. Played as the salesman over
JSON-RPC."""

from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from .test_checklist_approvals import ChecklistRpcCase

WIZARD = "res.partner.create.opportunities"


@tagged("post_install", "-at_install")
class TestCreateOpportunities(ChecklistRpcCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.contacts = cls.env["res.partner"].create([
            {"name": f"Contact {index}", "email": f"contact{index}@example.com"} for index in range(4)])
        # the process pipeline runs on its own stages (crm's shared test stages come before New)
        cls.team_process.own_stages_only = True

    def _run(self, values, login="user_sales_salesman"):
        """Create the wizard and press its button over RPC: (result, error)."""
        wizard_id, error = self._rpc(WIZARD, "create", [values], {"context": {
            "active_model": "res.partner", "active_ids": self.contacts.ids}}, login=login)
        if error:
            return None, error
        return self._rpc(WIZARD, "action_create_opportunities", [[wizard_id]], login=login)

    def _opportunities(self, team):
        return self.env["crm.lead"].search([("partner_id", "in", self.contacts.ids), ("team_id", "=", team.id)])

    def test_creates_one_per_contact_and_skips_those_open_in_the_pipeline(self):
        # an open opportunity of another salesperson in the pipeline, one lost, one in another pipeline
        Lead = self.env["crm.lead"]
        Lead.create({"name": "Open", "type": "opportunity", "team_id": self.team_process.id,
                     "stage_id": self.stage_new.id, "partner_id": self.contacts[0].id,
                     "user_id": self.user_sales_manager.id})
        lost = Lead.create({"name": "Lost", "type": "opportunity", "team_id": self.team_process.id,
                            "stage_id": self.stage_new.id, "partner_id": self.contacts[1].id})
        lost.action_set_lost(lost_reason_id=self.lost_reason.id)
        Lead.create({"name": "Elsewhere", "type": "opportunity", "team_id": self.team_plain.id,
                     "partner_id": self.contacts[2].id})
        result, error = self._run({"team_id": self.team_process.id})
        self.assertIsNone(error, error)
        self.assertEqual(result["tag"], "display_notification")
        params = result["params"]
        self.assertIn("3 opportunities created in Process Team, 1 skipped (already open in Process Team)",
                      params["message"])
        self.assertIn("Contact 0", params["message"])
        created = self.env["crm.lead"].browse(params["next"]["domain"][0][2])
        self.assertEqual(created.partner_id, self.contacts[1:])
        self.assertEqual(set(created.mapped("stage_id")), {self.stage_new}, "the pipeline's first stage")
        self.assertEqual(set(created.mapped("user_id")), {self.user_sales_salesman})
        self.assertEqual(set(created.mapped("type")), {"opportunity"})
        self.assertTrue(all(created.mapped("name")))
        self.assertEqual(created.mapped("email_from"), self.contacts[1:].mapped("email"))
        # through the gate: the first stage's checklist is theirs, the activities scheduled
        self.assertEqual(len(created.checklist_line_ids.filtered(lambda line: line.item_id == self.item_call)), 3)
        self.assertEqual(len(created.activity_ids), 6, "the call and the brochure of each")
        # again: all skipped, nothing created
        result, error = self._run({"team_id": self.team_process.id})
        self.assertIsNone(error, error)
        self.assertIn("0 opportunities created in Process Team, 4 skipped", result["params"]["message"])
        self.assertNotIn("next", result["params"])
        self.assertEqual(len(self._opportunities(self.team_process).filtered("active")), 4)

    def test_stage_of_another_pipeline_is_refused(self):
        self.assertRefused(self._run({"team_id": self.team_process.id, "stage_id": self.stage_plain_new.id}),
                           "is not an open stage of pipeline", "Process Team")
        self.assertRefused(self._run({"team_id": self.team_process.id, "stage_id": self.stage_won.id}),
                           "is not an open stage of pipeline")
        self.assertFalse(self._opportunities(self.team_process))

    def test_the_gate_refuses_the_whole_batch(self):
        """Offer requires Expected Revenue (and a customer): the contacts' opportunities have none,
        so none is created, and the gate's message says what each lacks."""
        self.assertRefused(self._run({"team_id": self.team_process.id, "stage_id": self.stage_offer.id}),
                           "Expected Revenue")
        self.assertFalse(self._opportunities(self.team_process))

    def test_form_offers_the_pipelines_stages_and_its_first_by_default(self):
        wizard = Form(self.env[WIZARD].with_user(self.user_sales_salesman).with_context(
            active_model="res.partner", active_ids=self.contacts[:2].ids))
        self.assertEqual(wizard.partner_ids[:], self.contacts[:2])
        self.assertEqual(wizard.user_id, self.user_sales_salesman)
        wizard.team_id = self.team_process
        self.assertEqual(wizard.stage_id, self.stage_new)
        # a shared stage is offered to pipelines that do not run on their own stages only
        self.team_process.own_stages_only = False
        wizard.team_id = self.team_plain
        wizard.team_id = self.team_process
        self.assertEqual(wizard.stage_id, self.stage_gen_1, "crm's shared test stage comes first")
        wizard.stage_id = self.stage_plain_new
        with self.assertRaises(ValidationError):
            wizard.save()

    def test_bound_to_the_contacts_list_for_salesmen(self):
        action = self.env.ref("sales_process_stages.res_partner_create_opportunities_action")
        self.assertEqual(action.binding_model_id.model, "res.partner")
        self.assertEqual(action.binding_view_types, "list")
        self.assertEqual(action.groups_id, self.env.ref("sales_team.group_sale_salesman"))
        bindings = self.env["ir.actions.actions"].with_user(self.user_sales_salesman).get_bindings("res.partner")
        self.assertIn(action.id, [binding["id"] for binding in bindings["action"]])
        employee = self.env["res.users"].create({"name": "Emma", "login": "emma_sps",
                                                 "groups_id": [(6, 0, self.env.ref("base.group_user").ids)]})
        bindings = self.env["ir.actions.actions"].with_user(employee).get_bindings("res.partner")
        self.assertNotIn(action.id, [binding["id"] for binding in bindings.get("action", [])])
