"""The web client serves and runs with the addon installed: login page, CRM pipeline tour."""

from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install", "sales_process_stages")
class TestWebClient(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # no onboarding tour in the way of ours
        cls.env.ref("base.user_admin").tour_enabled = False

    def test_login_page(self):
        response = self.url_open("/web/login")
        self.assertEqual(response.status_code, 200)
        self.assertIn('name="login"', response.text)

    def test_pipeline_tour(self):
        # the tour expects a card in the pipeline: make sure admin's pipeline has one
        self.env["crm.lead"].create(
            {
                "name": "Tour opportunity",
                "type": "opportunity",
                "user_id": self.env.ref("base.user_admin").id,
            }
        )
        self.start_tour("/odoo", "sales_process_stages_pipeline", login="admin", timeout=180)
