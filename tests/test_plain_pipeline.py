"""Installing the addon changes nothing for a pipeline nobody configured.

A lead of a plain team (no checklist, no entry requirement, no SLA, no loss policy)
moves between stages, is won, lost, archived and restored exactly as in Odoo
without the addon: same stage, probability, active flag, closing date and lost reason.
"""

from datetime import datetime

from odoo.tests.common import tagged, users

from .common import SalesProcessCommon

NOW = datetime(2024, 6, 3, 10, 0, 0)
LATER = datetime(2024, 6, 5, 16, 30, 0)


@tagged("sales_process_stages", "plain_pipeline")
class TestPlainPipeline(SalesProcessCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # a manual probability (not the automated one) is kept as it is by stage moves
        cls.opp_manual = cls._create_opportunity(name="Manual probability", probability=35.0)
        cls.opp_auto = cls._create_opportunity(name="Automated probability")

    def _lead(self, lead):
        return lead.with_user(self.env.user)

    def assertLeadState(self, lead, stage, probability, active, date_closed, lost_reason=None):
        self.assertEqual(lead.stage_id, stage)
        self.assertAlmostEqual(lead.probability, probability, places=2)
        self.assertEqual(lead.active, active)
        self.assertEqual(lead.date_closed, date_closed)
        self.assertEqual(lead.lost_reason_id, lost_reason or self.env["crm.lost.reason"])

    @users("user_sales_salesman")
    def test_move_forward_and_back(self):
        lead = self._lead(self.opp_manual)
        self.assertLeadState(lead, self.stage_plain_new, 35.0, True, False)

        with self.mock_datetime_and_now(NOW):
            lead.write({"stage_id": self.stage_plain_proposition.id})
        self.assertLeadState(lead, self.stage_plain_proposition, 35.0, True, False)
        self.assertEqual(lead.date_last_stage_update, NOW)

        with self.mock_datetime_and_now(LATER):
            lead.write({"stage_id": self.stage_plain_new.id})
        self.assertLeadState(lead, self.stage_plain_new, 35.0, True, False)
        self.assertEqual(lead.date_last_stage_update, LATER)

        # skipping stages forward is free too (shared stage, then the team's one)
        lead.write({"stage_id": self.stage_gen_1.id})
        lead.write({"stage_id": self.stage_plain_proposition.id})
        self.assertLeadState(lead, self.stage_plain_proposition, 35.0, True, False)

    @users("user_sales_salesman")
    def test_move_automated_probability(self):
        lead = self._lead(self.opp_auto)
        self.assertTrue(lead.is_automated_probability)
        lead.write({"stage_id": self.stage_plain_proposition.id})
        # flush as a request does at its end: stored computes run in Odoo's own order
        lead.flush_recordset()
        self.assertEqual(lead.stage_id, self.stage_plain_proposition)
        self.assertTrue(lead.is_automated_probability)
        self.assertAlmostEqual(lead.probability, lead.automated_probability, places=2)

    @users("user_sales_salesman")
    def test_won(self):
        lead = self._lead(self.opp_manual)
        lead.write({"stage_id": self.stage_plain_proposition.id})
        with self.mock_datetime_and_now(NOW):
            lead.action_set_won()
        # Odoo picks the first won stage after the current one, shared stages included
        self.assertLeadState(lead, self.stage_gen_won, 100.0, True, NOW)

        # dragged into another won stage: still won, closing date kept
        with self.mock_datetime_and_now(LATER):
            lead.write({"stage_id": self.stage_plain_won.id})
        self.assertLeadState(lead, self.stage_plain_won, 100.0, True, NOW)

        # moved back out of won: reopened, probability as given
        lead.write({"stage_id": self.stage_plain_proposition.id, "probability": 50.0})
        self.assertLeadState(lead, self.stage_plain_proposition, 50.0, True, False)

    @users("user_sales_salesman")
    def test_lost_without_reason_and_restore(self):
        lead = self._lead(self.opp_manual)
        with self.mock_datetime_and_now(NOW):
            lead.action_set_lost()
        self.assertLeadState(lead, self.stage_plain_new, 0.0, False, NOW)
        self.assertEqual(lead.automated_probability, 0.0)

        with self.mock_datetime_and_now(LATER):
            lead.action_unarchive()
        self.assertTrue(lead.active)
        self.assertEqual(lead.stage_id, self.stage_plain_new)
        self.assertFalse(lead.lost_reason_id)
        # restoring recomputes the (automated) probability and reopens the lead
        lead.flush_recordset()
        self.assertTrue(lead.is_automated_probability)
        self.assertAlmostEqual(lead.probability, lead.automated_probability, places=2)
        self.assertFalse(lead.date_closed)

    @users("user_sales_salesman")
    def test_lost_with_reason(self):
        lead = self._lead(self.opp_manual)
        with self.mock_datetime_and_now(NOW):
            lead.action_set_lost(lost_reason_id=self.lost_reason.id)
        self.assertLeadState(lead, self.stage_plain_new, 0.0, False, NOW, self.lost_reason)

        lead.action_unarchive()
        self.assertTrue(lead.active)
        self.assertFalse(lead.lost_reason_id)

    @users("user_sales_salesman")
    def test_archive_by_write(self):
        lead = self._lead(self.opp_manual)
        with self.mock_datetime_and_now(NOW):
            lead.write({"active": False})
        # a bare write archives without touching the probability (only toggle_active zeroes it)
        self.assertLeadState(lead, self.stage_plain_new, 35.0, False, NOW)

        lead.write({"active": True})
        self.assertLeadState(lead, self.stage_plain_new, 35.0, True, NOW)

    @users("user_sales_manager")
    def test_manager_batch(self):
        """The same moves in batch, as a manager, on leads of several owners."""
        leads = self.opp_manual + self.opp_auto + self._create_opportunity(user_id=self.user_sales_leads.id)
        leads = leads.with_user(self.env.user)
        leads.write({"stage_id": self.stage_plain_proposition.id})
        self.assertEqual(leads.stage_id, self.stage_plain_proposition)
        with self.mock_datetime_and_now(NOW):
            leads.action_set_won()
        self.assertEqual(leads.stage_id, self.stage_gen_won)
        self.assertEqual(set(leads.mapped("probability")), {100.0})
        self.assertEqual(set(leads.mapped("date_closed")), {NOW})
        leads.action_set_lost()
        self.assertFalse(any(leads.mapped("active")))
        self.assertEqual(set(leads.mapped("probability")), {0.0})
