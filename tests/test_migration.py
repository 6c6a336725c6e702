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


def _load_migration(version):
    path = Path(addon.__file__).parent / "migrations" / version / "post-migration.py"
    spec = importlib.util.spec_from_file_location(f"sps_migration_{version.replace('.', '_')}", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    return migration


@tagged("post_install", "-at_install", "sales_process_stages")
class TestMigrationWelcome(TransactionCase):
    """18.0.1.5.0: the seeded welcome rules (a time rule with a zero delay) become their won stage's
    email, as the consultant left them."""

    def _old_welcome_rule(self, key, **values):
        """The rule and its action as 18.0.1.4.0 seeded them, with their xml ids."""
        stage = self.env.ref(f"sales_process_stages.crm_stage_{key}_won")
        rule = self.env["base.automation"].create({
            "name": f"{key}: welcome email when won", "model_id": self.env["ir.model"]._get_id("crm.lead"),
            "trigger": "on_time", "trg_date_id": self.env.ref("crm.field_crm_lead__date_closed").id,
            "trg_date_range": 0, "trg_date_range_type": "hour",
            "filter_domain": f"[('stage_id', '=', {stage.id})]", **values,
        })
        action = self.env["ir.actions.server"].create({
            "name": "Send email", "model_id": self.env["ir.model"]._get_id("crm.lead"), "base_automation_id": rule.id,
            "usage": "base_automation", "state": "mail_post", "mail_post_method": "comment",
            "template_id": self.env.ref(f"sales_process_stages.mail_template_{key}_welcome").id,
        })
        self.env["ir.model.data"].create([
            {"module": "sales_process_stages", "name": f"base_automation_{key}_won_welcome",
             "model": "base.automation", "res_id": rule.id, "noupdate": True},
            {"module": "sales_process_stages", "name": f"ir_actions_server_{key}_won_welcome",
             "model": "ir.actions.server", "res_id": action.id, "noupdate": True},
        ])
        stage.mail_template_id = False
        return stage, rule, action

    def test_welcome_rules_become_the_won_stage_email(self):
        pv_stage, pv_rule, pv_action = self._old_welcome_rule("pv")
        ins_stage, ins_rule, _ins_action = self._old_welcome_rule("insurance", active=False)
        saas_stage, saas_rule, _saas_action = self._old_welcome_rule(
            "saas", filter_domain="[('team_id', '!=', False), ('probability', '=', 100)]")
        pv_stage.sequence, saas_stage.sequence = 50, 55  # as seeded; as a consultant set it
        signed = self.env.ref("sales_process_stages.crm_stage_checklist_item_b2b_contract_signed_contract")
        signed.move_to_stage_id = False
        signed.stage_id.team_id.lock_won_leads = False
        b2b_stage = self.env.ref("sales_process_stages.crm_stage_b2b_won")
        b2b_stage.mail_template_id = False  # the consultant deleted the B2B welcome rule
        migration = _load_migration("18.0.1.5.0")
        migration.migrate(self.env.cr, "18.0.1.4.0")
        self.assertEqual(pv_stage.mail_template_id, self.env.ref("sales_process_stages.mail_template_pv_welcome"))
        self.assertFalse((pv_rule | ins_rule).exists() or pv_action.exists(), "the seeded rules are gone")
        self.assertFalse(self.env.ref("sales_process_stages.base_automation_pv_won_welcome", raise_if_not_found=False))
        self.assertFalse(ins_stage.mail_template_id, "an archived welcome: the consultant did not want it")
        self.assertTrue(saas_rule.exists(), "a rule the consultant changed is theirs")
        self.assertFalse(saas_stage.mail_template_id)
        self.assertFalse(b2b_stage.mail_template_id, "a deleted welcome stays deleted")
        self.assertEqual(signed.move_to_stage_id, self.env.ref("sales_process_stages.crm_stage_b2b_won"))
        self.assertTrue(signed.stage_id.team_id.lock_won_leads)
        self.assertEqual((pv_stage.sequence, saas_stage.sequence), (100, 55),
                         "the seeded won stages after crm's Won, unless the consultant moved them")
        migration.migrate(self.env.cr, "18.0.1.4.0")
        self.assertEqual(pv_stage.mail_template_id, self.env.ref("sales_process_stages.mail_template_pv_welcome"))
