"""Query counts: a write moving many leads costs the same number of queries as one moving a few."""
import logging
from dataclasses import FrozenInstanceError

from odoo.tests import tagged

from odoo.addons.sales_process_stages.models.crm_lead import CrmLead as SpsCrmLead
from odoo.addons.sales_process_stages.tools.process_rules import NO_STAGE_RULES

from .common import TestSalesProcessCommon

_logger = logging.getLogger(__name__)


@tagged("post_install", "-at_install", "sps_performance")
class TestPerformance(TestSalesProcessCommon):

    def _plain_leads(self, count):
        return self.env["crm.lead"].create([{
            "name": f"Plain {index}", "type": "opportunity", "team_id": self.sales_team_1.id,
            "user_id": self.user_sales_salesman.id, "stage_id": self.stage_team1_1.id,
        } for index in range(count)])

    def _ready_leads(self, count):
        leads = self._new_leads(count, expected_revenue=1000, partner_id=self.customer.id)
        self._complete(leads, self.stage_new)
        return leads.with_user(self.user_sales_salesman)

    def _move_counts(self, make_leads, stage):
        counts = {}
        make_leads(2).with_user(self.user_sales_salesman).write({"stage_id": stage.id})  # warm caches
        for size in (1, 10, 100):
            leads = make_leads(size).with_user(self.user_sales_salesman)
            counts[size] = self._queries(lambda leads=leads: leads.write({"stage_id": stage.id}))
            self.assertEqual(leads.stage_id, stage)
        return counts

    def test_move_query_counts(self):
        plain = self._move_counts(self._plain_leads, self.stage_team1_2)
        process = self._move_counts(self._ready_leads, self.stage_offer)
        _logger.info("queries to move 1/10/100 leads: plain pipeline %s, configured process %s", plain, process)
        self.assertEqual(plain[10], plain[100])
        # 100 leads get 200 lines and 200 activities: the ORM inserts 100 rows a query
        # (odoo.models.INSERT_BATCH_SIZE), the only growth allowed; a query per lead would add 90+
        self.assertLessEqual(process[100] - process[10], 5, process)
        # rules checked from cache, lines and activities created in batch: a bounded overhead
        self.assertLessEqual(process[100] - plain[100], 45, process)

    def test_unconfigured_move_costs_what_plain_odoo_costs(self):
        """The gate reads cached rules: on an unconfigured pipeline it adds no query."""
        leads = self._plain_leads(10).with_user(self.user_sales_salesman)
        # warm the caches (rules, access) as on any server after its first moves
        self._queries(lambda: leads.write({"stage_id": self.stage_team1_2.id}))
        self._queries(lambda: leads.write({"stage_id": self.stage_team1_1.id}))
        count = self._queries(lambda: leads.write({"stage_id": self.stage_team1_2.id}))
        leads.write({"stage_id": self.stage_team1_1.id})
        # the same write skipping this addon's override: what crm and the other modules cost
        # (the stored checklist progress still recomputes: it depends on stage_id, ORM-triggered)
        plain_count = self._queries(lambda: super(SpsCrmLead, leads).write({"stage_id": self.stage_team1_2.id}))
        self.assertEqual(leads.stage_id, self.stage_team1_2)
        self.assertFalse(leads.checklist_line_ids)
        self.assertLessEqual(count, plain_count + 1, (count, plain_count))

    def test_rules_are_read_once_then_cached(self):
        self.env.registry.clear_cache()
        self.assertGreater(self._queries(self.env["crm.stage"]._get_process_rules), 0)
        self.assertEqual(self._queries(self.env["crm.stage"]._get_process_rules), 0)
        self.stage_offer.write({"require_next_activity": True})
        self.assertTrue(self.env["crm.stage"]._get_process_rules().stage(self.stage_offer.id).require_next_activity,
                        "a configuration change clears the cache")

    def test_rules_cache_follows_every_change_and_is_read_only(self):
        """One place clears the cached rules: stages, items, teams; created, changed, archived, deleted."""
        Stage = self.env["crm.stage"]
        rules = Stage._get_process_rules()
        with self.assertRaises(FrozenInstanceError, msg="the cached value is shared: read-only"):
            rules.stages[self.stage_new.id].item_ids = ()
        with self.assertRaises(FrozenInstanceError, msg="the cached value is shared: read-only"):
            rules.own_stages_teams = frozenset()
        with self.assertRaises(TypeError, msg="the cached value is shared: read-only"):
            rules.stages[self.stage_new.id] = NO_STAGE_RULES
        self.assertIs(rules.stage(False), NO_STAGE_RULES)
        self.assertFalse(rules.stage(False).sla or rules.stage(False).is_won or rules.stage(False).item_ids)
        self.item_brochure.active = False
        self.assertEqual(Stage._get_process_rules().stage(self.stage_new.id).item_ids, (self.item_call.id,))
        self.item_call.unlink()
        self.assertFalse(Stage._get_process_rules().stage(self.stage_new.id).item_ids)
        team = self.env["crm.team"].create({"name": "Strict", "allow_move_back": False, "own_stages_only": True})
        self.assertIn(team.id, Stage._get_process_rules().teams)
        self.assertIn(team.id, Stage._get_process_rules().own_stages_teams)
        Stage._get_process_rules()
        team.active = False  # its leads keep their pipeline's rules, read again
        self.assertGreater(self._queries(Stage._get_process_rules), 0, "archiving clears the cache")
        self.assertEqual(self._queries(Stage._get_process_rules), 0)
        team.active = True
        team.unlink()
        self.assertNotIn(team.id, Stage._get_process_rules().teams)
        self.assertNotIn(team.id, Stage._get_process_rules().own_stages_teams)
        stage = Stage.create({"name": "Extra", "team_id": self.team_process.id})
        self.assertIn(stage.id, Stage._get_process_rules().stages)
        stage.unlink()
        self.assertNotIn(stage.id, Stage._get_process_rules().stages)
