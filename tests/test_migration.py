"""The 18.0.1.1.0 migration: checklist lines and stays lose the indexes and log columns their
models no longer declare (Odoo itself keeps them)."""
import importlib.util
from pathlib import Path

from odoo.tests import TransactionCase, tagged

import odoo.addons.sales_process_stages as addon

MIGRATION = Path(addon.__file__).parent / "migrations" / "18.0.1.1.0" / "post-migration.py"


@tagged("post_install", "-at_install", "sales_process_stages")
class TestMigration(TransactionCase):
    def _indexes(self, table):
        self.env.cr.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [table])
        return {row[0] for row in self.env.cr.fetchall()}

    def _columns(self, table):
        self.env.cr.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s", [table])
        return {row[0] for row in self.env.cr.fetchall()}

    def test_drops_what_an_older_version_left(self):
        cr = self.env.cr
        # the schema of 18.0.1.0.0 (rolled back with the test's transaction)
        cr.execute("""
            CREATE INDEX crm_lead_checklist_line__state_index ON crm_lead_checklist_line (state);
            CREATE INDEX crm_lead_checklist_line__lead_id_index ON crm_lead_checklist_line (lead_id);
            CREATE INDEX crm_lead_stage_history__user_id_index ON crm_lead_stage_history (user_id);
            ALTER TABLE crm_lead_checklist_line ADD COLUMN create_uid int4 REFERENCES res_users(id),
                                                ADD COLUMN write_date timestamp;
            ALTER TABLE crm_lead_stage_history ADD COLUMN write_uid int4 REFERENCES res_users(id);
        """)
        self.assertIn("crm_lead_checklist_line__state_index", self._indexes("crm_lead_checklist_line"))
        spec = importlib.util.spec_from_file_location("sps_migration_18_0_1_1_0", MIGRATION)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        migration.migrate(cr, "18.0.1.0.0")
        line_indexes = self._indexes("crm_lead_checklist_line")
        self.assertFalse({"crm_lead_checklist_line__state_index", "crm_lead_checklist_line__lead_id_index"}
                         & line_indexes)
        # the lookups keep theirs: a lead's lines (unique lead/item), a user's, an activity's
        self.assertLessEqual({"crm_lead_checklist_line_lead_item_unique", "crm_lead_checklist_line__user_id_index",
                              "crm_lead_checklist_line__activity_id_index"}, line_indexes)
        self.assertNotIn("crm_lead_stage_history__user_id_index", self._indexes("crm_lead_stage_history"))
        self.assertIn("crm_lead_stage_history__lead_id_index", self._indexes("crm_lead_stage_history"))
        self.assertFalse({"create_uid", "write_date"} & self._columns("crm_lead_checklist_line"))
        self.assertNotIn("write_uid", self._columns("crm_lead_stage_history"))
        # and the models still work on the migrated tables
        lead = self.env["crm.lead"].create({"name": "After migration", "type": "opportunity"})
        self.assertEqual(lead.stage_history_ids.lead_id, lead)
        # running it again changes nothing
        migration.migrate(cr, "18.0.1.0.0")
