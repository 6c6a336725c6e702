"""The web client shows the SLA: badges on the pipeline's cards, the daily review, the lead's
SLA status and hold button, the stage's SLA page (smoke test in a browser)."""

from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install", "sales_process_stages", "sla")
class TestSlaUi(HttpCase):
    def test_sla_in_the_web_client(self):
        admin = self.env.ref("base.user_admin")
        team = self.env["crm.team"].create({"name": "SLA UI team", "user_id": admin.id})
        stage_sla = self.env["crm.stage"].create({
            "name": "SLA UI stage", "sequence": 0, "team_id": team.id,
            "sla_enabled": True, "sla_duration": 2, "sla_duration_unit": "hours",
        })
        stage_plain = self.env["crm.stage"].create({"name": "Plain UI stage", "sequence": 1, "team_id": team.id})
        Lead = self.env["crm.lead"]
        leads = Lead.create([{
            "name": f"SLA UI {index}", "type": "opportunity", "stage_id": stage_sla.id, "team_id": team.id,
            "user_id": admin.id,
        } for index in range(3)])
        Lead.create({"name": "Plain UI", "type": "opportunity", "stage_id": stage_plain.id, "team_id": team.id,
                     "user_id": admin.id})
        # one overdue, one due soon (as the sweep leaves them), one on hold
        leads[0].write({"sla_state": "overdue", "sla_priority": 3,
                        "sla_deadline": fields.Datetime.now() - timedelta(hours=1)})
        leads[1].write({"sla_state": "due_soon", "sla_priority": 2})
        leads[2].write({"sla_hold_until": fields.Date.today() + timedelta(days=3), "sla_hold_reason": "Vacation"})

        badges = ["text-bg-danger", "text-bg-warning", "text-bg-secondary", "text-bg-light"]
        self.browser_js(
            f"/odoo/action-crm.crm_lead_action_pipeline?default_team_id={team.id}", "console.log('test successful')",
            ready="!!(%s)" % " && ".join(f"document.querySelector('.o_sps_sla_badge.{badge}')" for badge in badges),
            login="admin", timeout=60)
        self.browser_js(
            "/odoo/action-sales_process_stages.crm_lead_action_daily_review", "console.log('test successful')",
            ready="!!document.querySelector('.o_group_header')", login="admin", timeout=60)
        self.browser_js(
            f"/odoo/crm/{leads[2].id}", "console.log('test successful')",
            ready="!!(document.querySelector('div[name=sla_status]') "
                  "&& document.querySelector('button[name=action_sla_resume]'))",
            login="admin", timeout=60)
        self.browser_js(
            f"/odoo/action-crm.crm_stage_action/{stage_sla.id}", "console.log('test successful')",
            ready="!!document.querySelector('.o_notebook_headers a[name=sla]')", login="admin", timeout=60)

    def test_daily_review_lists_only_what_is_overdue_or_due_today(self):
        """Its default filters are in groups of their own (Odoo joins a group's filters with OR): the
        manager's teams' deals overdue or due today, not every deal of the teams."""
        admin = self.env.ref("base.user_admin")
        admin.tour_enabled = False
        rep = new_test_user(self.env, login="sps_review_rep", name="Review Rep",
                            groups="sales_team.group_sale_salesman")
        team = self.env["crm.team"].create({"name": "Review team", "user_id": admin.id,
                                            "member_ids": [(4, rep.id)]})
        stage = self.env["crm.stage"].create({
            "name": "Review stage", "sequence": 0, "team_id": team.id,
            "sla_enabled": True, "sla_duration": 2, "sla_duration_unit": "days",
            "checklist_item_ids": [(0, 0, {"name": "Review: overdue item", "responsible_type": "user",
                                           "responsible_user_id": rep.id}),
                                   (0, 0, {"name": "Review: later item", "responsible_type": "user",
                                           "responsible_user_id": rep.id, "due_offset": 5})],
        })
        won = self.env["crm.stage"].create({"name": "Review won", "sequence": 9, "team_id": team.id, "is_won": True})
        Lead = self.env["crm.lead"]
        overdue, __, won_deal = Lead.create([{
            "name": name, "type": "opportunity", "stage_id": stage.id, "team_id": team.id, "user_id": rep.id,
        } for name in ("Review: overdue deal", "Review: no SLA", "Review: won deal")])
        overdue.write({"sla_state": "overdue", "sla_priority": 3,
                       "sla_deadline": fields.Datetime.now() - timedelta(hours=1)})
        (Lead.search([("name", "=", "Review: no SLA")])).write({"sla_state": "none"})
        won_deal.checklist_line_ids.sudo().action_done()
        won_deal.write({"stage_id": won.id})
        item = overdue.checklist_line_ids.filtered(lambda line: line.name == "Review: overdue item")
        item.date_deadline = fields.Date.today() - timedelta(days=1)
        self.start_tour("/odoo/action-sales_process_stages.crm_lead_action_daily_review",
                        "sales_process_stages_daily_review", login="admin", timeout=120)
