"""Screenshots of the app store page (static/description/): the kanban, the lead form and the manager's
dashboard, in English and in Hebrew, on the demo database. Run by scripts/screenshots.sh, not by `make test`
(it writes files)."""
import base64
import os
import time
from pathlib import Path

import werkzeug.urls

from odoo.tests import HttpCase, tagged
from odoo.tests.common import ChromeBrowser

OUT = Path(os.environ.get("SPS_SCREENSHOTS_DIR", Path(__file__).resolve().parents[2] / "sales_process_stages"
                          / "static" / "description"))


@tagged("post_install", "-at_install")
class TestScreenshots(HttpCase):
    browser_size = "1440x900"

    def _shoot(self, url, ready, name):
        """As ``browser_js`` opens a page (logged in, ready), then Chrome's screenshot of it."""
        browser = ChromeBrowser(self, headless=True, success_signal="test successful")
        try:
            self.authenticate("admin", "admin", browser=browser)
            self.cr.flush()
            self.cr.clear()
            browser.navigate_to(werkzeug.urls.url_join(self.base_url(), url), wait_stop=False)
            self.assertTrue(browser._wait_ready(ready), f"{name}: the page never got ready ({ready})")
            time.sleep(2)  # the cards' widgets and fonts settle
            data = browser.take_screenshot(prefix="sps_").result(timeout=30)["data"]
        finally:
            browser.stop()
            self._wait_remaining_requests()
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / f"{name}.png").write_bytes(base64.b64decode(data))

    def _shoot_all(self, suffix):
        admin = self.env.ref("base.user_admin")
        admin.tour_enabled = False
        team = self.env.ref("sales_process_stages.crm_team_pipeline_pv")
        self._shoot(f"/odoo/crm.team/{team.id}/action-crm.crm_case_form_view_salesteams_opportunity",
                    "!!document.querySelector('.o_kanban_record .o_sps_sla_badge.text-bg-danger')", f"kanban{suffix}")
        lead = self.env["crm.lead"].search([("team_id", "=", team.id), ("active", "=", True),
                                            ("checklist_line_ids", "!=", False), ("sla_state", "!=", "none")],
                                           limit=1)
        self._shoot(f"/odoo/action-crm.crm_lead_opportunities/{lead.id}",
                    "!!document.querySelector('.o_form_view .o_statusbar_status')", f"lead_form{suffix}")
        self._shoot("/odoo/action-sales_process_stages.crm_team_action_sales_process",
                    "!!document.querySelector('.o_sps_dashboard .o_kanban_record')", f"dashboard{suffix}")

    def test_screenshots_english(self):
        self._shoot_all("")

    def test_screenshots_hebrew(self):
        self.env["res.lang"]._activate_lang("he_IL")
        self.env["ir.module.module"]._load_module_terms(["web", "mail", "crm", "sales_process_stages"], ["he_IL"])
        self.env.ref("base.user_admin").lang = "he_IL"
        self._shoot_all("_he")
