"""Pipelines: fixed stage probabilities for forecasting (seeded pipelines use them)."""
from psycopg2 import IntegrityError

from odoo.tests import tagged, users
from odoo.tools import mute_logger

from .common import TestSalesProcessCommon


@tagged("post_install", "-at_install")
class TestFixedProbabilities(TestSalesProcessCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.team_process.probability_mode = "fixed"
        cls.stage_new.fixed_probability = 10
        cls.stage_offer.fixed_probability = 40
        cls.stage_closing.fixed_probability = 80

    @users("user_sales_salesman")
    def test_entering_a_stage_sets_its_probability(self):
        lead = self._new_leads(user=self.env.user, expected_revenue=1000, partner_id=self.customer.id)
        self.assertEqual(lead.probability, 10, "on create too")
        self._complete(lead, self.stage_new)
        lead.write({"stage_id": self.stage_offer.id})
        self.assertEqual(lead.probability, 40)
        self.assertEqual(lead.prorated_revenue, 400, "forecast = expected revenue × probability")
        self._complete(lead, self.stage_offer)
        lead.date_deadline = self._today(5)
        lead.action_set_won()
        self.assertEqual(lead.probability, 100, "won is won")

    def test_explicit_probability_wins(self):
        lead = self._new_leads(probability=55)
        self.assertEqual(lead.probability, 55)

    def test_scoring_pipelines_keep_odoo_probabilities(self):
        self.stage_team1_2.fixed_probability = 90
        lead = self.env["crm.lead"].create({"name": "Plain", "type": "opportunity", "team_id": self.sales_team_1.id,
                                            "stage_id": self.stage_team1_1.id})
        automated = lead.automated_probability
        lead.write({"stage_id": self.stage_team1_2.id})
        self.assertNotEqual(lead.probability, 90)
        self.assertEqual(lead.probability, lead.automated_probability)
        self.assertTrue(automated >= 0)

    def test_probability_range(self):
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"), self.env.cr.savepoint():
            self.stage_offer.fixed_probability = 120
            self.stage_offer.flush_recordset()
