"""The lead form in the browser at 1440 px (issue #14): the checklist's columns read in full in Polish."""
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestScreensInTheBrowser(HttpCase):
    browser_size = "1440x900"

    def test_polish_checklist_reads_in_full(self):
        """A Polish salesperson's checklist: done, skipped, open and waiting lines; no column header
        nor state badge cut short ("Obowią…", "Wykona…")."""
        self.env["res.lang"]._activate_lang("pl_PL")
        self.env["ir.module.module"]._load_module_terms(["web", "mail", "crm", "sales_process_stages"], ["pl_PL"])
        user = new_test_user(self.env, login="sps_polish", name="Ola", lang="pl_PL",
                             groups="sales_team.group_sale_salesman_all_leads")
        ref = self.env.ref
        negotiation = ref("sales_process_stages.crm_stage_b2b_negotiation")
        contract = ref("sales_process_stages.crm_stage_b2b_contract")
        # the signed contract waits for the contract's preparation too: a long "Waits For" squeezes the columns
        item = "sales_process_stages.crm_stage_checklist_item_b2b_contract_%s"
        ref(item % "signed_contract").depends_on_ids = ref(item % "prepare") | ref(item % "approve")
        lead = self.env["crm.lead"].create({
            "name": "Flota laptopów", "type": "opportunity", "team_id": negotiation.team_id.id,
            "stage_id": negotiation.id, "user_id": user.id, "expected_revenue": 5000,
            "partner_id": self.env["res.partner"].create({"name": "Kowalski sp. z o.o."}).id})
        lines = {line.item_id: line for line in lead.checklist_line_ids}
        lines[ref("sales_process_stages.crm_stage_checklist_item_b2b_negotiation_terms")].action_done()
        concessions = lines[ref("sales_process_stages.crm_stage_checklist_item_b2b_negotiation_concessions")]
        concessions.write({"skip_reason": "Bez ustępstw"})
        concessions.action_confirm_skip()
        lead.write({"stage_id": contract.id})
        self.assertEqual(sorted(lead.checklist_line_ids.mapped("state")),
                         ["done", "open", "skipped", "waiting", "waiting"])
        self.start_tour(f"/odoo/action-crm.crm_lead_opportunities/{lead.id}",
                        "sales_process_stages_polish_checklist", login="sps_polish", timeout=180)
