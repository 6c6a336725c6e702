"""The lead form in the browser at 1440 px (issue #14): the checklist's columns read in full in Polish,
and the status bar shows every stage of a long pipeline, also beside the buttons other CRM modules add
to the header."""
from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestScreensInTheBrowser(HttpCase):
    browser_size = "1440x900"

    def test_polish_checklist_reads_in_full(self):
        """A Polish salesperson's checklist: done, skipped, open and waiting lines; no column header
        nor state badge cut short ("Obowią…", "Wykona…"). The lines were made before Polish was installed,
        the usual order: their names read in Polish all the same."""
        seller = new_test_user(self.env, login="sps_seller", name="Piotr",
                               groups="sales_team.group_sale_salesman_all_leads")
        ref = self.env.ref
        negotiation = ref("sales_process_stages.crm_stage_b2b_negotiation")
        contract = ref("sales_process_stages.crm_stage_b2b_contract")
        # the signed contract waits for the contract's preparation too: a long "Waits For" squeezes the columns
        item = "sales_process_stages.crm_stage_checklist_item_b2b_contract_%s"
        ref(item % "signed_contract").depends_on_ids = ref(item % "prepare") | ref(item % "approve")
        lead = self.env["crm.lead"].create({
            "name": "Flota laptopów", "type": "opportunity", "team_id": negotiation.team_id.id,
            "stage_id": negotiation.id, "user_id": seller.id, "expected_revenue": 5000,
            "partner_id": self.env["res.partner"].create({"name": "Kowalski sp. z o.o."}).id})
        lines = {line.item_id: line for line in lead.checklist_line_ids}
        lines[ref("sales_process_stages.crm_stage_checklist_item_b2b_negotiation_terms")].action_done()
        concessions = lines[ref("sales_process_stages.crm_stage_checklist_item_b2b_negotiation_concessions")]
        concessions.write({"skip_reason": "Bez ustępstw"})
        concessions.action_confirm_skip()
        lead.write({"stage_id": contract.id})
        self.assertEqual(sorted(lead.checklist_line_ids.mapped("state")),
                         ["done", "open", "skipped", "waiting", "waiting"])
        # Polish installed now, after the lines were made; the Polish salesperson takes the lead over
        self.env["res.lang"]._activate_lang("pl_PL")
        self.env["ir.module.module"]._load_module_terms(["web", "mail", "crm", "sales_process_stages"], ["pl_PL"])
        user = new_test_user(self.env, login="sps_polish", name="Ola", lang="pl_PL",
                             groups="sales_team.group_sale_salesman_all_leads")
        lead.user_id = user
        self.start_tour(f"/odoo/action-crm.crm_lead_opportunities/{lead.id}",
                        "sales_process_stages_polish_checklist", login="sps_polish", timeout=180)

    def test_lead_header_keeps_every_stage_beside_other_modules_buttons(self):
        """Two more header buttons, as sale_crm adds (New Quotation, Quotations): each stage of the seeded
        insurance, SaaS and B2B pipelines (B2B's ten included) is a button of the status bar, none folded
        into "..."; a click on the next stage moves the lead."""
        self.env["ir.ui.view"].create({
            "name": "crm.lead.form.tour.sale_crm_like",
            "model": "crm.lead",
            "inherit_id": self.env.ref("crm.crm_lead_view_form").id,
            "arch": """
                <xpath expr="//header/button[@name='action_set_won_rainbowman']" position="before">
                    <button string="New Quotation" name="action_schedule_meeting" type="object" class="btn-primary"/>
                    <button string="Quotations" name="action_show_potential_duplicates" type="object"/>
                </xpath>""",
        })
        user = new_test_user(self.env, login="sps_header", name="Alex",
                             groups="sales_team.group_sale_salesman_all_leads")
        customer = self.env["res.partner"].create({"name": "Contoso Ltd"})
        for pipeline in ("insurance", "saas", "b2b"):
            with self.subTest(pipeline=pipeline):
                team = self.env.ref(f"sales_process_stages.crm_team_pipeline_{pipeline}")
                stages = self.env["crm.stage"].search([("team_id", "=", team.id)])
                self.assertGreaterEqual(len(stages), 5)
                self.assertFalse(stages.filtered("fold"), "no stage folded by its own setting")
                # what the second stage asks for, so that the click moves the lead
                lead = self.env["crm.lead"].create({
                    "name": f"Fleet of laptops ({len(stages)} stages)", "type": "opportunity", "team_id": team.id,
                    "stage_id": stages[0].id, "user_id": user.id, "partner_id": customer.id,
                    "email_from": "it@contoso.example", "phone": "+48 600 100 200"})
                lead.checklist_line_ids.filtered("is_mandatory").action_done()
                lead.activity_schedule("mail.mail_activity_data_call", user_id=user.id,
                                       date_deadline=fields.Date.context_today(lead) + timedelta(days=1))
                self.start_tour(f"/odoo/action-crm.crm_lead_opportunities/{lead.id}",
                                "sales_process_stages_header_fits", login="sps_header", timeout=180)
                self.assertEqual(lead.stage_id, stages[1], "the click on the next stage moved the lead")
