"""Translations: Polish, Russian and Hebrew, complete, well-formed, loaded by Odoo, right-to-left for Hebrew."""
import re
from pathlib import Path

import polib

from odoo.exceptions import UserError
from odoo.tests import HttpCase, new_test_user, tagged

from .common import TestSalesProcessCommon

I18N = Path(__file__).resolve().parents[1] / "sales_process_stages" / "i18n"
LANGS = {"pl": "pl_PL", "ru": "ru_RU", "he": "he_IL"}
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]|\{[a-z_]*\}")


@tagged("post_install", "-at_install")
class TestTranslations(TestSalesProcessCommon):

    def test_po_files_are_complete_and_well_formed(self):
        template = polib.pofile(str(I18N / "sales_process_stages.pot"))
        msgids = {entry.msgid for entry in template}
        self.assertGreater(len(msgids), 300)
        for lang in LANGS:
            with self.subTest(lang=lang):
                po = polib.pofile(str(I18N / f"{lang}.po"))
                translated = {entry.msgid: entry.msgstr for entry in po if entry.msgstr and not entry.fuzzy}
                self.assertEqual(msgids - set(translated), set(), "every string of the addon is translated")
                for msgid, msgstr in translated.items():
                    self.assertEqual(sorted(PLACEHOLDER.findall(msgid)), sorted(PLACEHOLDER.findall(msgstr)),
                                     f"{lang}: placeholders of {msgid!r}")
                    self.assertNotRegex(msgstr, "[\u200e\u200f\u202a-\u202e]", "no bidi control characters")

    def test_seeded_pipelines_and_messages_in_each_language(self):
        pv_team = self.env.ref("sales_process_stages.crm_team_pipeline_pv")
        for lang, code in LANGS.items():
            with self.subTest(lang=lang):
                self.env["res.lang"]._activate_lang(code)
                self.env["ir.module.module"]._load_module_terms(["sales_process_stages"], [code])
                po = {entry.msgid: entry.msgstr for entry in polib.pofile(str(I18N / f"{lang}.po"))}
                team = pv_team.with_context(lang=code)
                self.assertEqual(team.name, po[pv_team.with_context(lang="en_US").name])
                stage = self.env["crm.stage"].search([("team_id", "=", pv_team.id)], limit=1)
                self.assertEqual(stage.with_context(lang=code).name, po[stage.with_context(lang="en_US").name])
                # a refusal of the gate, in the user's language
                lead = self._new_leads(partner_id=self.customer.id)
                with self.assertRaises(UserError) as error:
                    lead.with_context(lang=code).write({"stage_id": self.stage_offer.id})
                self.assertIn(po["This stage move is refused:"], str(error.exception), "one card: singular")

    def test_hebrew_reads_right_to_left(self):
        self.env["res.lang"]._activate_lang("he_IL")
        self.assertEqual(self.env["res.lang"]._lang_get("he_IL").direction, "rtl")

    def test_checklist_follows_a_language_installed_after_the_lines(self):
        """Lines made while only English was installed read in Polish once Polish is installed (the
        usual order: the addon first, the language later); activities are titled in the assignee's language."""
        pv_team = self.env.ref("sales_process_stages.crm_team_pipeline_pv")
        first = self.env["crm.stage"].search([("team_id", "=", pv_team.id)], order="sequence, id", limit=1)
        lead = self.env["crm.lead"].create({"name": "Roof", "type": "opportunity", "team_id": pv_team.id,
                                            "stage_id": first.id, "user_id": self.user_sales_salesman.id})
        line = lead.checklist_line_ids[:1]
        english = line.with_context(lang="en_US").name
        self.env.flush_all()
        self.env.cr.execute("SELECT name FROM crm_lead_checklist_line WHERE id = %s", line.ids)
        self.assertNotIn("pl_PL", self.env.cr.fetchone()[0], "no Polish yet")
        self.env["res.lang"]._activate_lang("pl_PL")
        self.env["ir.module.module"]._load_module_terms(["sales_process_stages"], ["pl_PL"])
        po = {entry.msgid: entry.msgstr for entry in polib.pofile(str(I18N / "pl.po"))}
        line.invalidate_recordset()
        self.assertEqual(line.with_context(lang="pl_PL").name, po[english])
        self.assertEqual(line.with_context(lang="en_US").name, english, "what the line had is kept")
        # a Polish salesperson's new activities are titled in Polish
        self.user_sales_salesman.lang = "pl_PL"
        other = self.env["crm.lead"].create({"name": "Roof 2", "type": "opportunity", "team_id": pv_team.id,
                                             "stage_id": first.id, "user_id": self.user_sales_salesman.id})
        self.assertIn(po[english], other.activity_ids.mapped("summary"))


@tagged("post_install", "-at_install")
class TestHebrewInTheBrowser(HttpCase):

    def test_hebrew_user_reads_right_to_left(self):
        self.env["res.lang"]._activate_lang("he_IL")
        self.env["ir.module.module"]._load_module_terms(["web", "crm", "sales_process_stages"], ["he_IL"])
        user = new_test_user(self.env, login="sps_hebrew", name="Dana", lang="he_IL",
                             groups="sales_team.group_sale_salesman_all_leads")
        Stage = self.env["crm.stage"]
        source = Stage.create({"name": "Hebrew tour: source", "sequence": -20})
        Stage.create({"name": "Hebrew tour: target", "sequence": -10, "required_field_ids": [(6, 0, self.env[
            "ir.model.fields"].search([("model", "=", "crm.lead"), ("name", "=", "expected_revenue")]).ids)]})
        lead = self.env["crm.lead"].create({"name": "Hebrew lead", "type": "opportunity", "stage_id": source.id,
                                            "user_id": user.id, "expected_revenue": 0})
        self.start_tour(f"/odoo/action-crm.crm_lead_opportunities/{lead.id}", "sales_process_stages_hebrew",
                        login="sps_hebrew", timeout=180)
        self.assertEqual(lead.stage_id, source, "refused")
