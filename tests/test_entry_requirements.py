"""Fields required to enter a stage, pipeline move policies and forced moves: every path."""
from datetime import timedelta

from lxml import etree

from odoo import fields
from odoo.exceptions import AccessError, RedirectWarning, UserError, ValidationError
from odoo.tests import Form, HttpCase, tagged, users

from .common import TestSalesProcessCommon


@tagged("post_install", "-at_install")
class TestEntryRequirements(TestSalesProcessCommon):

    def _ready_to_leave_new(self, leads):
        self._complete(leads, self.stage_new)
        return leads

    # ------------------------------------------------------------
    # the rule, through every path
    # ------------------------------------------------------------

    @users("user_sales_salesman")
    def test_rpc_write_as_salesman_names_lead_stage_and_fields(self):
        lead = self._ready_to_leave_new(self._new_leads(user=self.env.user))
        with self.assertRaises(UserError) as error:
            lead.write({"stage_id": self.stage_offer.id})
        message = str(error.exception)
        self.assertIn(lead.name, message)
        self.assertIn("Send the offer", message)
        self.assertIn("Expected Revenue", message)
        self.assertIn("Contact", message)
        self.assertEqual(lead.stage_id, self.stage_new, "nothing of the write is saved")

    @users("user_sales_salesman")
    def test_values_given_in_the_same_write_count(self):
        lead = self._ready_to_leave_new(self._new_leads(user=self.env.user))
        lead.write({"stage_id": self.stage_offer.id, "expected_revenue": 5000, "partner_id": self.customer.id})
        self.assertEqual(lead.stage_id, self.stage_offer)

    @users("user_sales_salesman")
    def test_zero_and_negative_amounts_are_missing(self):
        lead = self._ready_to_leave_new(self._new_leads(user=self.env.user, partner_id=self.customer.id))
        for amount in (0, -10):
            with self.assertRaises(UserError, msg=f"amount {amount}") as error:
                lead.write({"stage_id": self.stage_offer.id, "expected_revenue": amount})
            self.assertIn("Expected Revenue", str(error.exception))
            self.assertNotIn("Customer", str(error.exception))
        self.assertEqual(lead.stage_id, self.stage_new)
        self.assertEqual(lead.expected_revenue, 0, "the refused write left nothing behind")

    @users("user_sales_salesman")
    def test_kanban_drop(self):
        """The kanban saves a dropped card with web_save({'stage_id'}): the refusal offers the
        "Move to Stage" dialog for that stage; RPC's write refuses as before."""
        lead = self._ready_to_leave_new(self._new_leads(user=self.env.user))
        with self.assertRaises(RedirectWarning) as error:
            lead.web_save({"stage_id": self.stage_offer.id}, {"stage_id": {}})
        message, action, button, context = error.exception.args
        self.assertIn("Expected Revenue", message)
        self.assertEqual(button, "Complete and Move")
        self.assertEqual(lead.stage_id, self.stage_new)
        with self.assertRaises(UserError):
            lead.write({"stage_id": self.stage_offer.id})
        # the button runs the bound "Move to Stage" action with the client's context
        server_action = self.env.ref(action)
        dialog = server_action.with_context(**context).run()
        wizard = self.env["crm.lead.stage.move"].browse(dialog["res_id"])
        self.assertEqual((wizard.lead_id, wizard.stage_id), (lead, self.stage_offer), "for the stage it was dropped on")
        self.assertEqual(wizard.missing_fields, ",expected_revenue,partner_id,")

    @users("user_sales_salesman")
    def test_form_marks_required_fields_from_data(self):
        """The form requires what the server requires of the lead where it is: the stage's fields
        while the lead is created there; the next stage's are a hint, checked on the move."""
        lead = self._new_leads(user=self.env.user)
        self.assertFalse(lead.stage_required_fields, "New requires nothing to enter")
        self.assertEqual(lead.stage_next_requirements, "To enter “Send the offer”: Expected Revenue, Contact.",
                         "in the form's order")
        arch = lead.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn("(not id and ',expected_revenue,' in (stage_required_fields or ''))", arch)
        self.assertIn("(not id and ',partner_id,' in (stage_required_fields or ''))", arch)
        # a new lead created in a stage that requires them: the form asks
        new = Form(self.env["crm.lead"].with_context(default_team_id=self.team_process.id,
                                                      default_stage_id=self.stage_offer.id,
                                                      default_type="opportunity"))
        new.name = "Straight into the offer"
        with self.assertRaises(AssertionError, msg="the form refuses to save without them"):
            new.save()
        form = Form(lead)
        form.stage_id = self.stage_offer
        with self.assertRaises(RedirectWarning, msg="the server refuses the move without them, offering the dialog"):
            form.save()
        form.expected_revenue = 1000
        form.partner_id = self.customer
        self._complete(lead, self.stage_new)
        form.save()
        self.assertEqual(lead.stage_id, self.stage_offer)

    @users("user_sales_salesman")
    def test_create_in_a_stage_with_requirements(self):
        with self.assertRaises(UserError) as error:
            self._new_leads(user=self.env.user, stage=self.stage_offer)
        self.assertIn("Expected Revenue", str(error.exception))
        self.assertFalse(self.env["crm.lead"].search([("team_id", "=", self.team_process.id)]))
        lead = self._new_leads(user=self.env.user, stage=self.stage_offer,
                               expected_revenue=100, partner_id=self.customer.id)
        self.assertEqual(lead.stage_id, self.stage_offer)

    @users("user_sales_salesman")
    def test_import(self):
        Lead = self.env["crm.lead"]
        fields_ = ["name", "type", "team_id", "stage_id", "expected_revenue"]
        result = Lead.load(fields_, [["Imported lead", "opportunity", "Process Team", "Send the offer", "10"]])
        self.assertFalse(result["ids"])
        self.assertIn("Contact", " ".join(message["message"] for message in result["messages"]))
        self.assertFalse(Lead.search([("name", "=", "Imported lead")]))
        result = Lead.load(fields_ + ["partner_id"], [
            ["Imported lead", "opportunity", "Process Team", "Send the offer", "10", "Sunny Roofs Ltd"]])
        self.assertEqual(len(result["ids"]), 1, result["messages"])
        self.assertEqual(Lead.browse(result["ids"]).stage_id, self.stage_offer)

    @users("user_sales_leads")
    def test_mass_edit_checks_the_batch_and_moves_nothing(self):
        leads = self._ready_to_leave_new(self._new_leads(3, user=self.env.user))
        leads[0].write({"expected_revenue": 10, "partner_id": self.customer.id})
        with self.assertRaises(UserError) as error:
            leads.write({"stage_id": self.stage_offer.id})
        message = str(error.exception)
        self.assertNotIn(leads[0].name + ":", message)
        self.assertEqual(message.count(leads[1].name + ":"), 1)
        self.assertEqual(message.count(leads[2].name + ":"), 1)
        self.assertEqual(leads.stage_id, self.stage_new, "passing leads are not half-moved either")

    def test_server_action(self):
        leads = self._ready_to_leave_new(self._new_leads(2))
        action = self.env["ir.actions.server"].create({
            "name": "Send offer",
            "model_id": self.env["ir.model"]._get_id("crm.lead"),
            "state": "code",
            "code": f"records.write({{'stage_id': {self.stage_offer.id}}})",
        })
        with self.assertRaises(UserError):
            action.with_context(active_model="crm.lead", active_ids=leads.ids).run()
        self.assertEqual(leads.stage_id, self.stage_new)

    def test_message_in_the_users_language(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.env["ir.module.module"]._load_module_terms(["crm"], ["fr_FR"])
        self.user_sales_salesman.lang = "fr_FR"
        lead = self._ready_to_leave_new(self._new_leads(partner_id=self.customer.id))
        with self.assertRaises(UserError) as error:
            # the web client sends the user's language in the context of every call
            lead.with_user(self.user_sales_salesman).with_context(lang="fr_FR").write(
                {"stage_id": self.stage_offer.id})
        self.assertIn("Revenu attendu", str(error.exception))

    @users("user_sales_salesman")
    def test_planned_next_activity(self):
        self.env["crm.stage.checklist.item"].sudo().create({
            "stage_id": self.stage_offer.id, "name": "Optional follow-up", "is_mandatory": False, "due_offset": 3})
        lead = self._new_leads(user=self.env.user, stage=self.stage_offer, expected_revenue=10,
                               partner_id=self.customer.id)
        self._complete(lead, self.stage_offer)
        self.assertEqual(lead.activity_ids.mapped("summary"), ["Optional follow-up"])
        with self.assertRaises(UserError, msg="a checklist item's activity is not a planned next contact") as error:
            lead.write({"stage_id": self.stage_closing.id})
        self.assertIn("a planned next activity", str(error.exception))
        lead.activity_schedule("mail.mail_activity_data_call", date_deadline=self._today(-1))
        with self.assertRaises(UserError, msg="an overdue activity is not a planned next contact"):
            lead.write({"stage_id": self.stage_closing.id})
        self._plan_activity(lead, days=2)
        lead.write({"stage_id": self.stage_closing.id})
        self.assertEqual(lead.stage_id, self.stage_closing)

    @users("user_sales_salesman")
    def test_won_runs_the_rules_of_the_won_stage(self):
        lead = self._new_leads(user=self.env.user, stage=self.stage_offer, expected_revenue=10,
                               partner_id=self.customer.id)
        with self.assertRaises(UserError) as error:
            lead.action_set_won()
        message = str(error.exception)
        self.assertIn("Technical feasibility", message)
        self.assertIn("Expected Closing", message)
        self.assertEqual(lead.stage_id, self.stage_offer)
        self._complete(lead, self.stage_offer)
        lead.date_deadline = self._today(30)
        lead.action_set_won()
        self.assertEqual(lead.stage_id, self.stage_won)
        self.assertEqual(lead.probability, 100)

    # ------------------------------------------------------------
    # pipeline policy
    # ------------------------------------------------------------

    @users("user_sales_salesman")
    def test_loss_or_restore_into_another_stage_runs_its_rules(self):
        """A write that loses or restores a lead into another stage enters that stage: its rules
        apply (a restore without a stage goes back to the stage the lead was lost in)."""
        self.team_process.lost_reason_required = False
        lead = self._new_leads().with_user(self.user_sales_salesman)
        for vals in ({"active": False, "stage_id": self.stage_offer.id},):
            with self.assertRaises(UserError) as error:
                lead.write(vals)
            self.assertIn("Expected Revenue", str(error.exception))
            self.assertIn("Call the customer", str(error.exception))
        self.assertTrue(lead.active)
        lead.action_set_lost()
        with self.assertRaises(UserError) as error:
            lead.write({"active": True, "stage_id": self.stage_offer.id})
        self.assertIn("Expected Revenue", str(error.exception))
        self.assertFalse(lead.active)
        lead.write({"active": True})
        self.assertEqual((lead.active, lead.stage_id), (True, self.stage_new), "back where it was lost")

    def test_skip_and_back_allowed_by_default(self):
        lead = self._new_leads(user=self.env.user)
        self._complete(lead, self.stage_new)
        self._plan_activity(lead)
        lead.write({"stage_id": self.stage_closing.id})  # skips "Send the offer"
        lead.write({"stage_id": self.stage_new.id})  # back
        self.assertEqual(lead.stage_id, self.stage_new)

    def test_no_skip_no_back(self):
        self.team_process.write({"allow_skip_stages": False, "allow_move_back": False})
        lead = self._new_leads(expected_revenue=10, partner_id=self.customer.id)
        self._complete(lead, self.stage_new)
        self._plan_activity(lead)
        lead = lead.with_user(self.user_sales_salesman)
        with self.assertRaises(UserError) as error:
            lead.write({"stage_id": self.stage_closing.id})
        self.assertIn("does not allow skipping stages", str(error.exception))
        self.assertIn("Send the offer", str(error.exception), "names the next stage")
        lead.write({"stage_id": self.stage_offer.id})
        with self.assertRaises(UserError) as error:
            lead.write({"stage_id": self.stage_new.id})
        self.assertIn("does not allow moving back", str(error.exception))
        self.assertEqual(lead.stage_id, self.stage_offer)

    # ------------------------------------------------------------
    # forced moves, wizard
    # ------------------------------------------------------------

    def test_manager_forces_with_reason_recorded_in_chatter(self):
        lead = self._new_leads()
        lead.with_user(self.user_sales_manager)._force_stage_move(self.stage_offer, "Customer signed on the spot")
        self.assertEqual(lead.stage_id, self.stage_offer)
        note = lead.message_ids.filtered(lambda message: "forced" in (message.body or ""))
        self.assertEqual(len(note), 1)
        self.assertIn("Customer signed on the spot", note.body)
        self.assertIn("Call the customer", note.body)
        self.assertIn("Expected Revenue", note.body)

    def test_salesman_cannot_force(self):
        lead = self._new_leads()
        with self.assertRaises(UserError):
            lead.with_user(self.user_sales_salesman)._force_stage_move(self.stage_offer, "Because")
        self.assertEqual(lead.stage_id, self.stage_new)

    @users("user_sales_salesman")
    def test_wizard_moves_or_asks_for_exactly_what_is_missing(self):
        lead = self._new_leads(user=self.env.user)
        wizard = self.env["crm.lead.stage.move"].with_context(default_lead_id=lead.id).create({})
        self.assertEqual(wizard.stage_id, self.stage_offer, "proposes the next stage")
        self.assertIn("Call the customer", wizard.blocking)
        self.assertIn("Expected Revenue", wizard.blocking)
        self.assertEqual(wizard.missing_fields, ",expected_revenue,partner_id,")
        self.assertEqual(wizard.lead_ids, lead, "the lead's row")
        self.assertEqual(wizard.item_ids.mapped("name"), ["Call the customer"])
        arch = etree.fromstring(wizard.get_views([(False, "form")])["views"]["form"]["arch"])
        row = arch.xpath("//field[@name='lead_ids']/list")[0]
        for name in ("expected_revenue", "partner_id"):
            node = row.xpath(f"field[@name='{name}']")[0]
            self.assertEqual(node.get("required"), f"',{name},' in (parent.missing_fields or '')")
        self.assertFalse(arch.xpath("//*[contains(@context, 'view_ref')]"), "no view reference in a context")
        # the dialog: tick the item (the dialog stays, read again), fill the row (saved with the
        # dialog, as the web client sends it), then Move
        reopen = wizard.item_ids.action_done()
        self.assertEqual((reopen["res_model"], reopen["res_id"], reopen["target"]),
                         (wizard._name, wizard.id, "new"), "the dialog stays open")
        wizard.invalidate_recordset()
        self.assertEqual(wizard.item_ids.state, "done")
        self.assertNotIn("Call the customer", wizard.blocking)
        self.assertIn("Expected Revenue", wizard.blocking)
        wizard.write({"lead_ids": [(1, lead.id, {"expected_revenue": 800, "partner_id": self.customer.id})]})
        self.assertEqual(wizard.missing_fields, ",expected_revenue,partner_id,", "asked for until the move")
        self.assertEqual(wizard.action_move()["tag"], "soft_reload")
        self.assertEqual(lead.stage_id, self.stage_offer)
        # nothing missing: the wizard moves at once
        self._complete(lead, self.stage_offer)
        self._plan_activity(lead)
        wizard = self.env["crm.lead.stage.move"].with_context(default_lead_id=lead.id).create({})
        self.assertFalse(wizard.blocking)
        self.assertEqual(wizard.action_move()["tag"], "soft_reload")
        self.assertEqual(lead.stage_id, self.stage_closing)

    @users("user_sales_salesman")
    def test_complete_and_move_asks_only_for_what_is_missing(self):
        """Filled fields are not asked for again; a stage needing a planned activity says so."""
        lead = self._new_leads(user=self.env.user, partner_id=self.customer.id)
        self._complete(lead, self.stage_new)
        Wizard = self.env["crm.lead.stage.move"].with_context(default_lead_id=lead.id)
        wizard = Wizard.create({"stage_id": self.stage_offer.id})
        self.assertEqual(wizard.missing_fields, ",expected_revenue,", "the customer is there already")
        self.assertFalse(wizard.needs_activity)
        # "Close the deal" needs a planned activity: the dialog says so, until one is planned
        lead.write({"expected_revenue": 10, "stage_id": self.stage_offer.id})
        self._complete(lead, self.stage_offer)
        closing = Wizard.create({"stage_id": self.stage_closing.id})
        self.assertFalse(closing.missing_fields)
        self.assertTrue(closing.needs_activity)
        self.assertEqual(closing.activity_type_id, self.env.ref("mail.mail_activity_data_call"))
        closing.activity_date = "2000-01-01"
        with self.assertRaises(UserError):
            closing.action_move()
        self.assertFalse(lead.activity_ids.filtered(lambda activity: activity.date_deadline.year == 2000))
        closing.activity_date = fields.Date.today() + timedelta(days=2)
        closing.action_move()
        self.assertEqual(lead.stage_id, self.stage_closing, "the activity is planned with the move")
        self.assertIn(closing.activity_type_id, lead.activity_ids.activity_type_id)

    def test_wizard_force_needs_a_reason(self):
        lead = self._new_leads()
        wizard = self.env["crm.lead.stage.move"].with_user(self.user_sales_manager).with_context(
            default_lead_id=lead.id).create({})
        self.assertTrue(wizard.can_force)
        with self.assertRaises(UserError):
            wizard.write({"force_reason": "   "})
            wizard.action_force()
        wizard.force_reason = "Board decision"
        wizard.action_force()
        self.assertEqual(lead.stage_id, self.stage_offer)

    # ------------------------------------------------------------
    # configuration
    # ------------------------------------------------------------

    def test_bad_configuration_is_refused(self):
        not_stored = self._field_ids("stage_required_fields")
        readonly = self._field_ids("date_closed")
        for field_ids in (not_stored, readonly):
            with self.assertRaises(ValidationError):
                self.stage_offer.write({"required_field_ids": [(4, field_ids[0])]})
        custom = self.env["ir.model.fields"].create({
            "model_id": self.env["ir.model"]._get_id("crm.lead"), "name": "x_studio_roof_area",
            "field_description": "Roof area", "ttype": "float"})
        self.stage_offer.write({"required_field_ids": [(4, custom.id)]})
        lead = self._new_leads(expected_revenue=10, partner_id=self.customer.id)
        self._complete(lead, self.stage_new)
        with self.assertRaises(UserError) as error:
            lead.write({"stage_id": self.stage_offer.id})
        self.assertIn("Roof area", str(error.exception), "custom fields work too")

    def test_salesman_cannot_configure(self):
        with self.assertRaises(AccessError):
            self.stage_offer.with_user(self.user_sales_salesman).write({"require_next_activity": True})
        with self.assertRaises(AccessError):
            self.env["crm.stage.checklist.item"].with_user(self.user_sales_salesman).create(
                {"stage_id": self.stage_new.id, "name": "Sneaky"})

    # ------------------------------------------------------------
    # unconfigured pipelines
    # ------------------------------------------------------------

    @users("user_sales_salesman")
    def test_unconfigured_pipeline_moves_freely(self):
        lead = self.env["crm.lead"].create({
            "name": "Plain", "type": "opportunity", "team_id": self.sales_team_1.id,
            "stage_id": self.stage_team1_1.id})
        lead.write({"stage_id": self.stage_team1_2.id})
        lead.write({"stage_id": self.stage_team1_1.id})
        lead.action_set_won()
        self.assertEqual(lead.stage_id, self.stage_gen_won, "the first won stage after it, as in plain Odoo")
        self.assertFalse(lead.checklist_line_ids)


@tagged("post_install", "-at_install")
class TestEntryRequirementsUi(HttpCase):
    """The kanban drop and the "Move to Stage" wizard in the browser."""

    def test_refused_drop_then_move_to_stage_wizard(self):
        self.env.ref("base.user_admin").tour_enabled = False
        Stage = self.env["crm.stage"]
        qualify = Stage.create({"name": "Tour: Qualify", "sequence": -20, "checklist_item_ids": [
            (0, 0, {"name": "Call the customer", "is_mandatory": True})]})
        Stage.create({
            "name": "Tour: Send the offer", "sequence": -10,
            "required_field_ids": [(6, 0, self.env["ir.model.fields"].search(
                [("model", "=", "crm.lead"), ("name", "=", "expected_revenue")]).ids)],
        })
        lead = self.env["crm.lead"].create({
            "name": "Tour lead", "type": "opportunity", "stage_id": qualify.id,
            "user_id": self.env.ref("base.user_admin").id, "expected_revenue": 0})
        self.start_tour("/odoo", "sales_process_stages_stage_move", login="admin", timeout=180)
        self.assertEqual(lead.stage_id.name, "Tour: Send the offer")
        self.assertEqual(lead.expected_revenue, 5000)
        self.assertEqual(lead.checklist_line_ids.filtered(lambda line: line.stage_id == qualify).state, "done")


    def test_force_move_is_offered_to_a_sales_manager(self):
        """The manager's documented override, reached from the UI: the wizard offers Force Move."""
        admin = self.env.ref("base.user_admin")
        admin.tour_enabled = False
        self.assertTrue(admin.has_group("sales_team.group_sale_manager"))
        Stage = self.env["crm.stage"]
        source = Stage.create({"name": "Tour: Force source", "sequence": -20})
        Stage.create({
            "name": "Tour: Force target", "sequence": -10,
            "required_field_ids": [(6, 0, self.env["ir.model.fields"].search(
                [("model", "=", "crm.lead"), ("name", "=", "expected_revenue")]).ids)],
        })
        lead = self.env["crm.lead"].create({
            "name": "Tour forced lead", "type": "opportunity", "stage_id": source.id,
            "user_id": admin.id, "expected_revenue": 0})
        self.start_tour(f"/odoo/action-crm.crm_lead_opportunities/{lead.id}", "sales_process_stages_force_move",
                        login="admin", timeout=180)
        self.assertEqual(lead.stage_id.name, "Tour: Force target")
        self.assertTrue(lead.message_ids.filtered(lambda message: "trade fair" in (message.body or "")),
                        "the chatter records the reason")


@tagged("post_install", "-at_install")
class TestRefusalTexts(TestSalesProcessCommon):
    """Refusals read as sentences: a heading in the singular for one card, each reason a sentence."""

    def test_one_card_refused(self):
        lead = self._new_leads()
        with self.assertRaises(UserError) as error:
            lead.with_user(self.user_sales_salesman).write({"stage_id": self.stage_offer.id})
        heading, *reasons, advice = str(error.exception).split("\n")
        self.assertEqual(heading, "This stage move is refused:")
        self.assertTrue(reasons)
        for reason in reasons:
            text = reason.split(": ", 1)[1]
            self.assertTrue(text[0].isupper() and text.endswith("."), reason)
        self.assertTrue(advice.endswith("."))

    def test_several_cards_refused(self):
        leads = self._new_leads(2)
        with self.assertRaises(UserError) as error:
            leads.with_user(self.user_sales_salesman).write({"stage_id": self.stage_offer.id})
        self.assertTrue(str(error.exception).startswith("These stage moves are refused:"))
        self.team_process.lost_reason_required = True
        with self.assertRaises(UserError) as error:
            leads[0].with_user(self.user_sales_salesman).action_set_lost()
        self.assertTrue(str(error.exception).startswith("This lead cannot be marked lost:"))
        self.assertIn("Pipeline “Process Team” requires a lost reason.", str(error.exception))


@tagged("post_install", "-at_install")
class TestEntryRequirementsConfiguration(TestSalesProcessCommon):

    @users("user_sales_manager")
    def test_sales_manager_configures_required_fields_on_the_stage_form(self):
        """Odoo lets only administrators read ir.model.fields: the addon lets sales managers read
        them (not write), so that the stage form's "Required to Enter" works for them."""
        stage = self.env["crm.stage"].browse(self.stage_offer.id)
        result = stage.web_read({"required_field_ids": {"fields": {"display_name": {}}}})
        self.assertEqual(len(result[0]["required_field_ids"]), 2)
        fields_ = self.env["ir.model.fields"].name_search("Expected Closing", [("model", "=", "crm.lead")])
        self.assertTrue(fields_)
        form = Form(stage)
        form.required_field_ids.add(self.env["ir.model.fields"].browse(fields_[0][0]))
        form.save()
        self.assertIn("date_deadline", stage.required_field_ids.mapped("name"))
        with self.assertRaises(AccessError):
            self.env["ir.model.fields"].browse(fields_[0][0]).write({"field_description": "Hacked"})


class TestRefusalWording(TestSalesProcessCommon):
    """A refusal names the fields as the form shows them, in the form's order, and says where the
    one-step move is."""

    def test_fields_as_the_form_names_them_in_its_order(self):
        pv_new = self.env.ref("sales_process_stages.crm_stage_pv_new")
        meeting = self.env.ref("sales_process_stages.crm_stage_pv_meeting")
        lead = self.env["crm.lead"].create({
            "name": "Bare", "type": "opportunity", "team_id": pv_new.team_id.id, "stage_id": pv_new.id,
            "user_id": self.user_sales_salesman.id})
        with self.assertRaises(UserError) as refused:
            lead.with_user(self.user_sales_salesman).write({"stage_id": meeting.id})
        message = str(refused.exception)
        # a ValidationError: the dialog's title is Odoo's "Validation Error", which Odoo translates in
        # every language the addon ships (its "Invalid Operation" has no Hebrew)
        self.assertIs(type(refused.exception), ValidationError)
        labels = lead._get_stage_field_labels({"partner_id", "phone", "street", "city"})
        self.assertEqual(labels["partner_id"][1], "Contact", "the opportunity form's label")
        self.assertIn("Contact", message)
        self.assertNotIn("Customer", message)
        in_form_order = [text for __, text in sorted(labels.values())]
        positions = [message.index(text) for text in in_form_order]
        self.assertEqual(positions, sorted(positions), "in the form's order")
        self.assertIn("gear menu", message)
        self.assertNotIn("complete the open items", message)
