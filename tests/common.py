"""Fixtures shared by the tests of sales_process_stages.

Feature tests subclass :class:`SalesProcessCommon`. It builds on crm's own
``TestCrmCommon`` (addons/crm/tests/common.py), which already provides:

- users ``user_sales_manager`` (sales manager), ``user_sales_leads`` (salesman,
  all leads), ``user_sales_salesman`` (salesman, own documents only), ``user_admin``;
- team ``sales_team_1`` (members: admin, user_sales_leads; leader: user_sales_manager);
- stages ``stage_team1_1`` (New, seq 1), ``stage_team1_2`` (Proposition, seq 5),
  ``stage_team1_won`` (Won, seq 70) of that team, and the shared stages
  ``stage_gen_1`` (seq 3) and ``stage_gen_won`` (won, seq 30); every other stage
  is pushed to sequence 9999;
- ``lead_1`` and helpers such as ``_create_leads_batch``; from ``MailCase``,
  ``mock_datetime_and_now`` and ``flush_tracking``.

On top of that this class names a *plain pipeline*: a team and stages that nobody
configured, so they must behave exactly as in Odoo without the addon. Keep it
generic: feature-specific fixtures belong to the feature's own test class.
"""

from odoo.addons.crm.tests.common import TestCrmCommon


class SalesProcessCommon(TestCrmCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # a pipeline nobody configured: a team of its own and its stages
        cls.team_plain = cls.sales_team_1
        cls.stage_plain_new = cls.stage_team1_1
        cls.stage_plain_proposition = cls.stage_team1_2
        cls.stage_plain_won = cls.stage_team1_won
        cls.lost_reason = cls.env["crm.lost.reason"].create({"name": "Too expensive"})

    @classmethod
    def _create_opportunity(cls, **values):
        """An opportunity of the plain pipeline, owned by ``user_sales_salesman``
        (so that user may write it); ``values`` override the defaults."""
        return cls.env["crm.lead"].create(
            {
                "name": "Opportunity",
                "type": "opportunity",
                "team_id": cls.team_plain.id,
                "stage_id": cls.stage_plain_new.id,
                "user_id": cls.user_sales_salesman.id,
                "partner_id": cls.contact_1.id,
                "expected_revenue": 1000.0,
                **values,
            }
        )
