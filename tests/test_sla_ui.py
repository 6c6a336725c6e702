"""The web client shows the SLA: badges on the pipeline's cards, the daily review, the lead's
SLA status and hold button, the stage's SLA page (smoke test in a browser)."""

from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, tagged


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
