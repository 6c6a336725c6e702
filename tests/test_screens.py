"""The screens as their users read them (issue #14): the kanban card, the stage form."""
from datetime import timedelta

from lxml import etree

from odoo import fields
from odoo.tests import tagged

from .common import TestSalesProcessCommon


@tagged("post_install", "-at_install")
class TestScreens(TestSalesProcessCommon):

    def _arch(self, model, view_type, view_id=False):
        return etree.fromstring(self.env[model].get_views([(view_id, view_type)])["views"][view_type]["arch"])

    def test_kanban_card(self):
        """The badge says what its colour means, with an icon that is not the activities' clock;
        checklist progress as "2/4"; won and lost cards carry no SLA badge."""
        kanban = self._arch("crm.lead", "kanban")
        badge = "//*[contains(@class, 'o_sps_sla_badge') or contains(@t-attf-class, 'o_sps_sla_badge')]"
        badges = kanban.xpath(badge)
        self.assertEqual(len(badges), 3, "on hold, the time budget, the days in stage")
        self.assertFalse(kanban.xpath(f"{badge}//i[contains(@class, 'fa-clock-o')]"))
        self.assertTrue(kanban.xpath(f"{badge}//i[contains(@class, 'fa-hourglass')]"))
        self.assertEqual(badges[0].xpath(".//t/@t-out"), ["record.sla_hold_until.value"], "on hold: until when")
        self.assertEqual(badges[2].get("t-elif"), "record.in_process_pipeline.raw_value",
                         "days in stage in configured pipelines only: plain Odoo's cards elsewhere")
        self.assertTrue(self._new_leads().in_process_pipeline)
        plain = self.env["crm.lead"].create({"name": "Plain", "team_id": self.sales_team_1.id})
        self.assertFalse(plain.in_process_pipeline)
        first = badges[0].getprevious()
        self.assertEqual(first.get("t-if"), "record.probability.raw_value == 100 or !record.active.raw_value",
                         "won and lost cards: no badge")
        progress = kanban.xpath("//div[contains(@class, 'o_sps_checklist_progress')]")[0]
        self.assertEqual([node.get("t-out") for node in progress.iter("t")],
                         ["record.checklist_mandatory_done.raw_value", "record.checklist_mandatory_total.raw_value"])
        self.assertFalse(progress.xpath(".//field[@widget='progressbar']"), "no bare percentage")
        # the badge's text
        self.stage_new.write({"sla_enabled": True, "sla_duration": 2, "sla_duration_unit": "days"})
        lead = self._new_leads()
        self.assertTrue(lead.sla_remaining.startswith("on track · "), lead.sla_remaining)
        lead.sudo().write({"sla_state": "overdue", "sla_deadline": fields.Datetime.now() - timedelta(days=2, hours=1)})
        self.assertEqual(lead.sla_remaining, "2 d overdue")
        lead.sudo().write({"sla_state": "due_soon", "sla_deadline": fields.Datetime.now() + timedelta(days=1, hours=1)})
        self.assertEqual(lead.sla_remaining, "25 h left")

    def test_stage_form(self):
        """Required fields named as users know them; Odoo's free text not taken for a rule."""
        form = self._arch("crm.stage", "form")
        required = form.xpath("//field[@name='required_field_ids']")[0]
        self.assertIn("hide_model", required.get("context"))
        city = self.env["ir.model.fields"]._get("crm.lead", "city")
        self.assertEqual(city.with_context(hide_model=True).display_name, "City")
        self.assertEqual(form.xpath("//separator[following-sibling::field[1][@name='requirements']]")[0].get("string"),
                         "Notes for the Team (not enforced)")
        columns = form.xpath("//field[@name='checklist_item_ids']/list/field")
        shown = [node.get("name") for node in columns if node.get("optional") not in ("hide",)
                 and node.get("column_invisible") is None]
        self.assertLessEqual(len(shown), 10, shown)

    def test_lead_header_keeps_room_for_the_stage_bar(self):
        """Move to Stage, Put on Hold and Transfer are in the form's gear menu, where Odoo puts secondary
        actions; the header keeps Odoo's own buttons; the SLA deadline shows no seconds."""
        views = self.env["crm.lead"].with_user(self.user_sales_salesman).get_views(
            [(False, "form")], {"toolbar": True})
        form = etree.fromstring(views["views"]["form"]["arch"])
        header = {node.get("name") for node in form.xpath("//header/button")}
        self.assertFalse(header & {"action_open_stage_move", "action_sla_hold", "action_open_transfer"})
        gear = {action["name"] for action in views["views"]["form"]["toolbar"]["action"]}
        self.assertTrue({"Move to Stage", "Put on Hold", "Transfer to Another Pipeline"} <= gear, gear)
        deadline = form.xpath("//div[@name='sla_status']//field[@name='sla_deadline']")[0]
        self.assertIn("'show_seconds': False", deadline.get("options"))
        # the menu's actions run the lead's own
        lead = self._new_leads()
        action = self.env.ref("sales_process_stages.crm_lead_action_server_stage_move").with_user(
            self.user_sales_salesman).with_context(active_model="crm.lead", active_id=lead.id,
                                                   active_ids=lead.ids).run()
        self.assertEqual(action["res_model"], "crm.lead.stage.move")
