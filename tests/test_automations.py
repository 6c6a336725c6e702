"""Stage automations: Odoo's automation rules (base_automation), shown on the stage they fire for and
made from it; the won stages' welcome email (the stage's email, sent at the win); the rules of the
seeded pipelines (satisfaction surveys, the
insurance renewal, a re-contact of leads lost as not interested or bad timing) fire once, at their
time, in the customer's language, and nowhere else; the uninstall hook removes the rules that use the
addon's fields; only administrators edit rules."""
import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import polib
from dateutil.relativedelta import relativedelta

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import Form, HttpCase, tagged

from odoo.addons.base_automation.models.base_automation import TIME_TRIGGERS
from odoo.addons.mail.tests.common import MailCase
from odoo.addons.sales_process_stages.hooks import uninstall_hook

from .common import JsonRpcMixin
from .test_pipelines import MODULE, PipelineCommon

I18N = Path(__file__).resolve().parents[1] / "sales_process_stages" / "i18n"
T0 = datetime(2025, 3, 3, 9, 0)
NOT_INTERESTED, BAD_TIMING = f"{MODULE}.lost_reason_not_interested", f"{MODULE}.lost_reason_bad_timing"
# each seeded rule: (pipeline, xml id, trigger, date field, delay, delay unit)
SEEDED = [
    ("pv", "pv_won_survey", "on_time", "date_closed", 30, "day"),
    ("pv", "pv_lost_recontact", "on_time", "date_closed", 180, "day"),
    ("insurance", "insurance_won_renewal", "on_time", "date_closed", 11, "month"),
    ("insurance", "insurance_lost_recontact", "on_time", "date_closed", 180, "day"),
    ("saas", "saas_won_nps", "on_time", "date_closed", 90, "day"),
    ("saas", "saas_lost_recontact", "on_time", "date_closed", 180, "day"),
    ("b2b", "b2b_lost_recontact", "on_time", "date_closed", 180, "day"),
]


def po_entries(lang):
    return {entry.msgid: entry.msgstr for entry in polib.pofile(str(I18N / f"{lang}.po"))}


class AutomationCommon(PipelineCommon, MailCase):
    """The seeded pipelines (see ``PipelineCommon``), customers speaking English, Polish, Russian and
    Hebrew, and a pipeline nobody configured: a team with stages New, Offer, Won of its own."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.customer.email = "roofs@example.com"
        for code in ("pl_PL", "ru_RU", "he_IL"):
            cls.env["res.lang"]._activate_lang(code)
        cls.env["ir.module.module"]._load_module_terms([MODULE], ["pl_PL", "ru_RU", "he_IL"])
        cls.customer_pl = Partner.create({"name": "Jan Kowalski", "email": "jan@example.com", "lang": "pl_PL"})
        cls.customer_ru = Partner.create({"name": "Ivan Petrov", "email": "ivan@example.com", "lang": "ru_RU"})
        cls.customer_he = Partner.create({"name": "Dana Levi", "email": "dana@example.com", "lang": "he_IL"})
        cls.salesman.email = "sam@example.com"
        for team in cls.templates.values():
            team.write({"member_ids": [(4, cls.salesman.id)]})
        cls.team_plain = cls.env["crm.team"].create({
            "name": "Nobody configured this", "member_ids": [(4, cls.salesman.id)]})
        cls.plain_new, cls.plain_offer, cls.plain_won = cls.env["crm.stage"].create([
            {"name": "Plain new", "sequence": 1, "team_id": cls.team_plain.id},
            {"name": "Plain offer", "sequence": 2, "team_id": cls.team_plain.id},
            {"name": "Plain won", "sequence": 3, "team_id": cls.team_plain.id, "is_won": True},
        ])
        cls.Automation = cls.env["base.automation"]
        cls.lead_model = cls.env["ir.model"]._get("crm.lead")
        # Odoo's scheduled action of the automation rules last ran the day before (whatever it did
        # in this database before: its runs take the records dated since then)
        cls.Automation.search([("trigger", "in", TIME_TRIGGERS)]).write({"last_run": T0 - timedelta(days=1)})

    def _rule(self, xmlid):
        return self.env.ref(f"{MODULE}.base_automation_{xmlid}")

    def _lead(self, team, partner=None, stage=None, **values):
        stage = stage or self._stages(team)[:1]
        return self.env["crm.lead"].create({
            "name": f"Deal of {(partner or self.customer).name}", "type": "opportunity", "team_id": team.id,
            "stage_id": stage.id, "user_id": self.salesman.id, "partner_id": (partner or self.customer).id,
            **values,
        })

    def _win(self, team, partner=None):
        """A lead won in ``team`` by its salesperson: created in the stage it may be won from (a plain
        pipeline: its first stage), that stage's items done."""
        stage = team.won_from_stage_ids[:1] or self._stages(team)[:1]
        names = [name for name in stage.required_field_ids.mapped("name") if name != "partner_id"]
        lead = self._lead(team, partner, stage, **self._values(names))
        self._complete_items(lead)
        if not lead.stage_id.is_won:  # a step that moves the lead may have won it (B2B: the signed contract)
            lead.with_user(self.salesman).action_set_won()
        self.assertEqual(lead.stage_id.is_won, True)
        return lead

    def _lose(self, team, reason_xmlid, partner=None):
        lead = self._lead(team, partner)
        lead.with_user(self.salesman).action_set_lost(lost_reason_id=self.env.ref(reason_xmlid).id,
                                                      lost_note="Call again after the summer")
        self.assertFalse(lead.active)
        return lead

    def _run_time_rules(self, at):
        """The scheduled action of Odoo's automation rules, run at ``at``."""
        with self.mock_datetime_and_now(at):
            self.Automation._check()

    def _messages(self, lead, template, lang=None):
        """The lead's emails with the subject ``template`` gives in ``lang``."""
        comment = self.env.ref("mail.mt_comment")
        return self.env["mail.message"].search([
            ("model", "=", "crm.lead"), ("res_id", "=", lead.id), ("subtype_id", "=", comment.id),
            ("subject", "=", self._subject(template, lead, lang)),
        ])

    def _subject(self, template, lead, lang=None):
        """The subject the template should give, from the .po file of ``lang`` (English without)."""
        subject = template.with_context(lang="en_US").subject
        if lang:
            subject = po_entries(lang)[subject]
        company = lead.company_id.name or lead.user_id.company_id.name
        return subject.replace("{{ object.company_id.name or object.user_id.company_id.name }}", company)

    def _activities(self, lead, xmlid):
        return self.env["mail.activity"].search([
            ("res_model", "=", "crm.lead"), ("res_id", "=", lead.id),
            ("activity_type_id", "=", self.env.ref(f"{MODULE}.{xmlid}").id)])


@tagged("post_install", "-at_install", "sps_automations")
class TestSeededAutomations(AutomationCommon):

    def test_seeded_rules_load_as_documented(self):
        for key, xmlid, trigger, date_field, delay, unit in SEEDED:
            with self.subTest(rule=xmlid):
                rule = self._rule(xmlid)
                team = self.templates[key]
                won = self._stages(team).filtered("is_won")
                self.assertEqual((rule.model_name, rule.trigger, rule.trg_date_id.name or None, rule.trg_date_range,
                                  rule.trg_date_range_type), ("crm.lead", trigger, date_field, delay, unit))
                self.assertEqual(len(rule.action_server_ids), 1)
                self.assertTrue(rule.active)
                if "_won_" in xmlid:
                    self.assertEqual(rule.filter_domain, f"[('stage_id', '=', {won.id})]")
                if xmlid.endswith("recontact"):
                    reasons = [self.env.ref(NOT_INTERESTED).id, self.env.ref(BAD_TIMING).id]
                    self.assertEqual(rule.filter_domain, str([
                        ("active", "=", False), ("team_id", "=", team.id), ("lost_reason_id", "in", reasons)]))
        for key, team in self.templates.items():
            with self.subTest(welcome=key):
                self.assertEqual(self._stages(team).filtered("is_won").mail_template_id,
                                 self.env.ref(f"{MODULE}.mail_template_{key}_welcome"), "the won stage's email")
        cron = self.env.ref("base_automation.ir_cron_data_base_automation_check")
        self.assertTrue(cron.active, "time-based rules exist: Odoo's scheduled action runs them")
        self.assertFalse(
            self.Automation.search([("model_name", "=", "crm.lead"), ("trigger", "not in", TIME_TRIGGERS)]),
            "no seeded rule makes base_automation look up the rules on every write of a lead")

    def test_seeded_rules_are_data_users_edit(self):
        """noupdate and forcecreate False, as the pipelines: an upgrade keeps a consultant's edits and
        deletions."""
        Data = self.env["ir.model.data"]
        for _key, xmlid, *_rest in SEEDED:
            for model, name in (("base.automation", f"base_automation_{xmlid}"),
                                ("ir.actions.server", f"ir_actions_server_{xmlid}")):
                data = Data.search([("module", "=", MODULE), ("name", "=", name)])
                self.assertEqual((data.model, data.noupdate), (model, True), name)
        for name in ("mail_template_pv_welcome", "mail_template_pv_survey", "mail_template_saas_nps",
                     "mail_activity_type_renewal", "mail_activity_type_recontact"):
            self.assertTrue(Data.search([("module", "=", MODULE), ("name", "=", name)]).noupdate, name)
        source = (Path(__file__).resolve().parents[1] / MODULE / "data" / "base_automation_data.xml").read_text()
        self.assertEqual(source.count("<record "), source.count('forcecreate="False"'))

    def test_welcome_email_when_won_from_the_salesperson_in_the_customer_language(self):
        """The won stage's email, sent at the win (Odoo's tracking, as a project stage's email), once:
        saving the lead again, reopening and winning it again send nothing more."""
        cases = [("pv", self.customer_pl, "pl"), ("insurance", self.customer_ru, "ru"),
                 ("saas", self.customer_he, "he"), ("b2b", self.customer, None)]
        with self.mock_datetime_and_now(T0):
            leads = {key: self._win(self.templates[key], partner) for key, partner, _lang in cases}
            self.flush_tracking()
        templates = {key: self.env.ref(f"{MODULE}.mail_template_{key}_welcome") for key in leads}
        for key, partner, lang in cases:
            with self.subTest(pipeline=key, lang=lang):
                lead, template = leads[key], templates[key]
                messages = self._messages(lead, template, lang)
                self.assertEqual(len(messages), 1, "one welcome email, at the win")
                self.assertEqual(messages.author_id, self.salesman.partner_id, "from the salesperson")
                self.assertEqual(messages.subtype_id, self.env.ref("mail.mt_comment"), "a message, not a note")
                self.assertIn(partner, messages.partner_ids, "to the customer")
                self.assertIn(partner, messages.notification_ids.filtered(
                    lambda n: n.notification_type == "email").res_partner_id, "by email")
                self.assertIn(self._paragraph(template, lang), messages.body)
                self.assertIn(partner.name, messages.body)
        # saving the leads again, the scheduled runs, reopening and winning again: nothing more
        with self.mock_datetime_and_now(T0 + timedelta(hours=1)):
            for key, lead in leads.items():
                lead.write({"description": "Installation booked"})
                lead.with_user(self.manager).write({"stage_id": self.templates[key].won_from_stage_ids[:1].id})
                self.flush_tracking()
                self._complete_items(lead)
                if not lead.stage_id.is_won:
                    lead.with_user(self.salesman).action_set_won()
                self.flush_tracking()
        self._run_time_rules(T0 + timedelta(hours=5))
        for key, _partner, lang in cases:
            self.assertEqual(leads[key].stage_id, self._stages(self.templates[key]).filtered("is_won"))
            self.assertEqual(len(self._messages(leads[key], templates[key], lang)), 1, key)

    def test_no_seeded_rule_changes_how_often_odoo_runs_the_time_rules(self):
        """Odoo runs its time-based rules every tenth of the shortest delay (4 hours at most, and a
        zero delay makes it 4 hours): the seeded rules leave a customer's one-hour rule checked every
        6 minutes, as without the addon."""
        seeded = self.Automation.search([("trigger", "in", TIME_TRIGGERS)]).filtered(
            lambda rule: rule.get_external_id()[rule.id].startswith(f"{MODULE}."))
        self.assertEqual(len(seeded), len(SEEDED))
        self.assertTrue(all(rule.trg_date_range for rule in seeded), "no zero delay")
        self.Automation.create({
            "name": "Our follow-up", "model_id": self.lead_model.id, "trigger": "on_time",
            "trg_date_id": self.env.ref("crm.field_crm_lead__date_deadline").id,
            "trg_date_range": 1, "trg_date_range_type": "hour",
        })
        self.assertEqual(self.env.ref("base_automation.ir_cron_data_base_automation_check").interval_number, 6)

    def _paragraph(self, template, lang):
        """A sentence of the template's body (its second paragraph), translated into ``lang``."""
        body = template.with_context(lang="en_US").body_html
        if lang:
            body = po_entries(lang)[body]
        return re.findall(r"<p>([^<]+)</p>", body)[0]

    def test_surveys_and_renewal_once_at_their_time(self):
        cases = [
            ("pv", "mail_template_pv_survey", relativedelta(days=30), self.customer_pl, "pl"),
            ("saas", "mail_template_saas_nps", relativedelta(days=90), self.customer_he, "he"),
        ]
        for key, template_xmlid, delay, partner, lang in cases:
            with self.subTest(pipeline=key):
                template = self.env.ref(f"{MODULE}.{template_xmlid}")
                with self.mock_datetime_and_now(T0):
                    lead = self._win(self.templates[key], partner)

                def surveys(lead=lead, template=template, lang=lang):
                    return self._messages(lead, template, lang)

                self._run_time_rules(T0 + delay - timedelta(hours=1))
                self.assertFalse(surveys(), "not before its time")
                self._run_time_rules(T0 + delay + timedelta(hours=1))
                self.assertEqual(len(surveys()), 1)
                self.assertEqual(surveys().author_id, self.salesman.partner_id)
                self.assertIn(self._paragraph(template, lang), surveys().body, "in the customer's language")
                self._run_time_rules(T0 + delay + timedelta(days=1))
                self._run_time_rules(T0 + delay + timedelta(days=40))
                self.assertEqual(len(surveys()), 1, "once")

        # insurance: the salesperson prepares the renewal 11 months after the policy was signed
        with self.mock_datetime_and_now(T0):
            policy = self._win(self.templates["insurance"], self.customer_ru)
        self._run_time_rules(T0 + relativedelta(months=11) - timedelta(days=1))
        self.assertFalse(self._activities(policy, "mail_activity_type_renewal"))
        self._run_time_rules(T0 + relativedelta(months=11) + timedelta(hours=1))
        renewal = self._activities(policy, "mail_activity_type_renewal")
        self.assertEqual(len(renewal), 1)
        self.assertEqual(renewal.user_id, self.salesman)
        self.assertEqual(renewal.date_deadline, (T0 + relativedelta(months=11) + timedelta(days=14)).date())
        self._run_time_rules(T0 + relativedelta(months=12))
        self.assertEqual(len(self._activities(policy, "mail_activity_type_renewal")), 1, "once")

    def test_lost_leads_are_recontacted_after_180_days(self):
        """Lost leads are archived: the rule's explicit active leaf makes Odoo's search find them."""
        with self.mock_datetime_and_now(T0):
            leads = {key: self._lose(team, NOT_INTERESTED) for key, team in self.templates.items()}
            timing = self._lose(self.templates["pv"], BAD_TIMING)
            budget = self._lose(self.templates["pv"], f"{MODULE}.lost_reason_no_budget")
            plain = self._lose(self.team_plain, NOT_INTERESTED)
            restored = self._lose(self.templates["saas"], NOT_INTERESTED)
        with self.mock_datetime_and_now(T0 + timedelta(days=30)):
            restored.with_user(self.salesman).action_unarchive()
        self.assertTrue(restored.active)
        self._run_time_rules(T0 + timedelta(days=179))
        for lead in [*leads.values(), timing]:
            self.assertFalse(self._activities(lead, "mail_activity_type_recontact"), "not before its time")
        self._run_time_rules(T0 + timedelta(days=180, hours=1))
        for lead in [*leads.values(), timing]:
            with self.subTest(lead=lead.name, team=lead.team_id.name):
                activity = self._activities(lead, "mail_activity_type_recontact")
                self.assertEqual(len(activity), 1)
                self.assertEqual(activity.user_id, self.salesman, "for its salesperson")
                self.assertFalse(lead.active, "the lead stays lost until the salesperson restores it")
        for lead in (budget, plain, restored):
            self.assertFalse(self._activities(lead, "mail_activity_type_recontact"), lead.name)
        self._run_time_rules(T0 + timedelta(days=181))
        self._run_time_rules(T0 + timedelta(days=400))
        self.assertEqual(len(self._activities(timing, "mail_activity_type_recontact")), 1, "once")
        # the salesperson finds it among their activities and restores the lead, in the stage it was lost in
        activity = self._activities(timing, "mail_activity_type_recontact")
        self.assertIn(activity, self.env["mail.activity"].with_user(self.salesman).search(
            [("user_id", "=", self.salesman.id)]))
        self.assertEqual(timing.lost_stage_id, self._stages(self.templates["pv"])[0])
        timing.with_user(self.salesman).action_unarchive()
        self.assertTrue(timing.active)
        self.assertEqual(timing.stage_id, self._stages(self.templates["pv"])[0])
        self.assertIn(activity, timing.activity_ids, "the re-contact stays the restored lead's to do")

    def test_nothing_fires_in_pipelines_nobody_configured(self):
        with self.mock_datetime_and_now(T0):
            won = self._win(self.team_plain, self.customer_pl)
            lost = self._lose(self.team_plain, BAD_TIMING)
            self.flush_tracking()
        self.assertEqual(won.stage_id, self.plain_won)
        for days in (1, 31, 91, 181, 340, 400):
            self._run_time_rules(T0 + timedelta(days=days))
        for lead in (won, lost):
            messages = self.env["mail.message"].search([("model", "=", "crm.lead"), ("res_id", "=", lead.id),
                                                        ("subtype_id", "=", self.env.ref("mail.mt_comment").id)])
            self.assertFalse(messages, "no email")
            self.assertFalse(self.env["mail.activity"].search([("res_model", "=", "crm.lead"),
                                                               ("res_id", "=", lead.id)]), "no activity")


@tagged("post_install", "-at_install", "sps_automations")
class TestStageAutomations(AutomationCommon):

    def test_seeded_stages_list_their_rules(self):
        pv, insurance = self.templates["pv"], self.templates["insurance"]
        pv_won = self._stages(pv).filtered("is_won")
        self.assertEqual(pv_won._get_automations(), self._rule("pv_won_survey") | self._rule("pv_lost_recontact"))
        self.assertEqual(pv_won.automation_count, 2)
        closing = self.env.ref(f"{MODULE}.crm_stage_pv_closing")
        self.assertEqual(closing._get_automations(), self._rule("pv_lost_recontact"),
                         "a rule naming the pipeline and no stage fires for each of its stages")
        self.assertEqual(self._stages(insurance).filtered("is_won")._get_automations(),
                         self._rule("insurance_won_renewal") | self._rule("insurance_lost_recontact"))
        self.assertEqual(self.plain_offer.automation_count, 0)
        action = pv_won.action_open_automations()
        self.assertEqual(action["res_model"], "base.automation")
        self.assertEqual(self.Automation.search(action["domain"]), pv_won._get_automations())
        self._rule("pv_won_survey").active = False
        self.assertEqual(pv_won._get_automations(), self._rule("pv_lost_recontact"), "archived rules do not fire")

    def test_domains_name_stages_or_their_pipeline(self):
        new, offer, won = self.plain_new, self.plain_offer, self.plain_won
        date_closed = self.env["ir.model.fields"]._get("crm.lead", "date_closed")

        def rule(domain):
            return self.Automation.create({
                "name": f"Rule {domain}", "model_id": self.lead_model.id, "trigger": "on_time",
                "trg_date_id": date_closed.id, "trg_date_range": 1, "trg_date_range_type": "day",
                "filter_domain": domain,
            })

        both = rule(f"[('stage_id', 'in', [{new.id}, {offer.id}])]")
        other = rule(f"[('stage_id', '!=', {new.id})]")
        broken = rule("[('stage_id', '=', ")
        named = rule(f"[('user_id', '=', uid), ('stage_id.id', '=', {won.id})]")
        team = rule(f"['|', ('team_id', '=', {self.team_plain.id}), ('team_id', '=', False)]")
        team_stage = rule(f"[('team_id', 'in', [{self.team_plain.id}]), ('stage_id', '=', {offer.id})]")
        code = rule("[('stage_id', '=', no_such_name)]")
        self.assertEqual(new._get_automations(), both | team)
        self.assertEqual(offer._get_automations(), both | team | team_stage)
        self.assertEqual(won._get_automations(), named | team, "a domain naming uid is evaluated as Odoo does")
        for unnamed in (other, broken, code):
            self.assertFalse(unnamed._get_crm_stage_scope()[unnamed][0], unnamed.filter_domain)
        self.assertEqual(offer.automation_count, 3)

    def test_rule_made_from_the_stage_fires_for_that_stage_only(self):
        action = self.plain_offer.action_create_automation()
        self.assertEqual((action["res_model"], action["context"]["default_trigger"]),
                         ("base.automation", "on_stage_set"))
        with Form(self.Automation.with_context(action["context"])) as form:
            form.name = "Ask for the offer's approval"
        rule = form.record
        self.addCleanup(rule.unlink)  # the registry follows the rules: unpatch crm.lead after the test
        self.assertEqual((rule.model_name, rule.trigger, rule.trg_field_ref, rule.trigger_field_ids.name),
                         ("crm.lead", "on_stage_set", self.plain_offer.id, "stage_id"))
        self.assertEqual(rule.filter_domain, f"[('stage_id', '=', {self.plain_offer.id})]", "no domain written by hand")
        rule.action_server_ids = [Command.create({
            "name": "Approval", "model_id": self.lead_model.id, "usage": "base_automation", "state": "next_activity",
            "activity_type_id": self.env.ref("mail.mail_activity_data_todo").id,
            "activity_summary": "Get the offer approved", "activity_user_type": "generic",
            "activity_user_field_name": "user_id",
        })]
        self.assertEqual(self.plain_offer._get_automations(), rule)
        self.assertEqual(self.plain_offer.automation_count, 1)
        self.assertIn(rule, self.Automation.search(self.plain_offer.action_open_automations()["domain"]))

        def approvals(lead):
            return lead.activity_ids.filtered(lambda activity: activity.summary == "Get the offer approved")

        lead, other = self._lead(self.team_plain), self._lead(self.team_plain)
        lead.with_user(self.salesman).write({"stage_id": self.plain_offer.id})
        self.assertEqual(len(approvals(lead)), 1)
        self.assertEqual(approvals(lead).user_id, self.salesman)
        other.with_user(self.salesman).write({"stage_id": self.plain_won.id})
        self.assertFalse(approvals(other), "another stage: nothing")
        lead.with_user(self.salesman).write({"stage_id": self.plain_new.id})
        self.assertEqual(len(approvals(lead)), 1)

    def test_uninstall_hook_removes_rules_using_the_addon_fields(self):
        field = self.env["ir.model.fields"]._get
        date_closed = field("crm.lead", "date_closed")
        common = {"model_id": self.lead_model.id}
        timed = {**common, "trigger": "on_time", "trg_date_range": 1, "trg_date_range_type": "day"}
        Automation = self.Automation.with_context(active_test=False)
        doomed = Automation.create([
            {**common, "name": "On SLA change", "trigger": "on_create_or_write",
             "trigger_field_ids": [Command.set(field("crm.lead", "sla_state").ids)]},
            {**timed, "name": "At the SLA deadline", "trg_date_id": field("crm.lead", "sla_deadline").id},
            {**timed, "name": "Overdue", "trg_date_id": date_closed.id,
             "filter_domain": "[('sla_state', '=', 'overdue')]"},
            {**timed, "name": "In an SLA stage", "trg_date_id": date_closed.id,
             "filter_domain": "[('stage_id.sla_enabled', '=', True)]"},
            {**timed, "name": "Archived, with a loss note", "trg_date_id": date_closed.id, "active": False,
             "filter_domain": "[('lost_note', '!=', False)]"},
        ])
        kept = Automation.create([
            {**timed, "name": "Odoo's fields only", "trg_date_id": date_closed.id,
             "filter_domain": "[('stage_id.is_won', '=', True), ('user_id', '=', uid)]"},
            {**timed, "name": "Broken domain", "trg_date_id": date_closed.id, "filter_domain": "[('sla_state'"},
        ])
        seeded = self.Automation.search([("id", "in", [self._rule(xmlid).id for _k, xmlid, *_r in SEEDED])])
        self.assertEqual(len(seeded), len(SEEDED))
        # a rule on a write patches crm.lead in the registry: unpatch it before the rollback
        self.addCleanup(lambda: doomed.exists().unlink())
        uninstall_hook(self.env)
        self.assertFalse(doomed.exists())
        self.assertEqual(kept.exists(), kept, "rules using Odoo's fields only stay")
        self.assertEqual(seeded.exists(), seeded, "the seeded rules use Odoo's fields: the uninstall deletes them "
                         "with the addon's data")


@tagged("post_install", "-at_install", "sps_automations")
class TestAutomationRights(AutomationCommon):

    def test_only_administrators_edit_rules(self):
        stage = self.plain_offer
        rule = self._rule("pv_won_survey")
        for user in (self.salesman, self.manager):
            with self.subTest(user=user.login):
                with self.assertRaises(AccessError):
                    self.Automation.with_user(user).create({
                        "name": "Mine", "model_id": self.lead_model.id, "trigger": "on_stage_set",
                        "trg_field_ref": stage.id})
                with self.assertRaises(AccessError):
                    rule.with_user(user).write({"active": False})
                with self.assertRaises(AccessError):
                    rule.with_user(user).unlink()
                with self.assertRaises(AccessError):
                    rule.action_server_ids.with_user(user).write({"state": "code", "code": "record.unlink()"})
                for method in ("action_create_automation", "action_open_automations"):
                    with self.assertRaises(AccessError):
                        getattr(stage.with_user(user), method)()
                with self.assertRaises(AccessError):
                    stage.with_user(user).read(["automation_count"])
        # the stage form shows the rules to who may edit them
        arch = self.env["crm.stage"].with_user(self.manager).get_view(view_type="form")["arch"]
        self.assertNotIn("action_open_automations", arch)
        admin = self.env.ref("base.user_admin")
        self.assertIn("action_open_automations",
                      self.env["crm.stage"].with_user(admin).get_view(view_type="form")["arch"])


@tagged("post_install", "-at_install", "sps_automations")
class TestAutomationRightsRpc(HttpCase):

    def test_salesman_over_rpc(self):
        login = "sps_rpc_salesman"
        self.env["res.users"].create({
            "name": "Rita Rpc", "login": login, "password": login + "pass",
            "groups_id": [Command.set([self.env.ref("sales_team.group_sale_salesman").id])]})
        self.authenticate(login, login + "pass")
        stage = self.env.ref(f"{MODULE}.crm_stage_pv_won")
        rule = self.env.ref(f"{MODULE}.base_automation_pv_won_survey")
        calls = [
            ("base.automation", "create", [{"name": "Mine", "model_id": self.env["ir.model"]._get_id("crm.lead"),
                                            "trigger": "on_stage_set", "trg_field_ref": stage.id}]),
            ("base.automation", "write", [rule.ids, {"active": False}]),
            ("crm.stage", "action_create_automation", [stage.ids]),
            ("crm.stage", "action_open_automations", [stage.ids]),
        ]
        for model, method, args in calls:
            with self.subTest(method=f"{model}.{method}"):
                response = self.url_open(f"/web/dataset/call_kw/{model}/{method}", data=json.dumps({
                    "jsonrpc": "2.0", "method": "call", "id": 1,
                    "params": {"model": model, "method": method, "args": args, "kwargs": {}},
                }), headers={"Content-Type": "application/json"})
                self.assertEqual(response.json()["error"]["data"]["name"], "odoo.exceptions.AccessError")
        self.assertTrue(rule.active)


@tagged("post_install", "-at_install", "sps_automations")
class TestSeededActionsRunFromTheirRule(JsonRpcMixin, AutomationCommon, HttpCase):
    """The seeded rules' actions run from their rule: a salesman calling ``run`` on one over RPC is
    refused, an administrator runs one only on leads its rule applies to; the customer's own
    actions run as in Odoo."""

    def _run(self, action, leads, login):
        return self._rpc("ir.actions.server", "run", [action.ids], {"context": {
            "active_model": "crm.lead", "active_ids": leads.ids, "active_id": leads[:1].id}}, login=login)

    def _survey_count(self, lead):
        template = self.env.ref(f"{MODULE}.mail_template_pv_survey")
        return len(self._messages(lead, template))

    def test_a_salesman_cannot_run_a_seeded_rule_action(self):
        survey = self.env.ref(f"{MODULE}.ir_actions_server_pv_won_survey")
        open_lead = self._lead(self.templates["pv"])
        won_lead = self._win(self.templates["pv"])
        for lead in (open_lead, won_lead):
            with self.subTest(lead=lead.stage_id.name):
                result, error = self._run(survey, lead, self.salesman.login)
                self.assertEqual(error and error[0], "odoo.exceptions.AccessError")
                self.assertIn("is run by its automation rule", error[1])
                self.assertEqual(self._survey_count(lead), 0)

    def test_an_administrator_runs_it_only_where_its_rule_applies(self):
        survey = self.env.ref(f"{MODULE}.ir_actions_server_pv_won_survey")
        open_lead = self._lead(self.templates["pv"])
        won_lead = self._win(self.templates["pv"])
        result, error = self._run(survey, open_lead | won_lead, "admin")
        self.assertEqual(error and error[0], "odoo.exceptions.UserError")
        self.assertIn(open_lead.display_name, error[1])
        self.assertEqual(self._survey_count(open_lead) + self._survey_count(won_lead), 0, "nothing half-done")
        result, error = self._run(survey, won_lead, "admin")
        self.assertIsNone(error)
        self.assertEqual(self._survey_count(won_lead), 1)

    def test_the_rule_still_runs_its_action(self):
        won_lead = self._win(self.templates["pv"])
        self._run_time_rules(won_lead.date_closed + timedelta(days=31))
        self.assertEqual(self._survey_count(won_lead), 1)

    def test_the_customer_own_actions_run_as_in_odoo(self):
        rule = self.Automation.create({
            "name": "Our note when a PV lead is created", "model_id": self.lead_model.id, "trigger": "on_time",
            "trg_date_id": self.env.ref("crm.field_crm_lead__date_closed").id, "trg_date_range": 1,
            "trg_date_range_type": "day",
        })
        action = self.env["ir.actions.server"].create({
            "name": "Our note", "model_id": self.lead_model.id, "base_automation_id": rule.id,
            "usage": "base_automation", "state": "object_write", "update_path": "description",
            "value": "Checked by us",
        })
        lead = self._lead(self.templates["pv"])
        result, error = self._run(action, lead, self.salesman.login)
        self.assertIsNone(error)
        self.assertIn("Checked by us", str(lead.description))


@tagged("post_install", "-at_install", "sps_automations")
class TestSlaSweepFiresAutomations(AutomationCommon):
    """The SLA sweep writes the SLA status through the ORM: a rule "when the SLA status becomes
    Overdue" fires from the sweep as from a user's write (the seeded PV example, archived until a
    consultant unarchives it)."""

    def test_seeded_example_is_archived_until_unarchived(self):
        rule = self._rule("pv_overdue_first_contact")
        self.assertFalse(rule.active, "archived: no rule looked up on every lead's write by installing")
        self.assertEqual((rule.trigger, rule.trigger_field_ids.name), ("on_create_or_write", "sla_state"))

    def test_sweep_fires_the_rule_on_the_sla_status(self):
        team = self.templates["pv"]
        team.user_id = self.manager
        first = self._stages(team)[:1]
        other = next(other for key, other in self.templates.items()
                     if key != "pv" and self._stages(other)[:1].sla_enabled)
        self._rule("pv_overdue_first_contact").active = True
        with self.mock_datetime_and_now(T0):
            new_lead = self._lead(team, stage=first)
            other_lead = self._lead(other)
        self.assertEqual(new_lead.sla_state, "on_track")
        written_at = new_lead.write_date

        self.env["crm.lead"].flush_model()
        with self.mock_datetime_and_now(T0 + timedelta(days=3)):
            self.env["crm.lead"]._cron_sweep_sla()
            self.flush_tracking()
        self.assertEqual(new_lead.sla_state, "overdue")
        self.assertEqual(new_lead.user_id, self.manager, "the rule fired from the sweep: the team leader has it")
        self.assertGreater(new_lead.write_date, written_at, "written through the ORM: write_date follows")
        self.assertIn(self.manager.name, new_lead.message_ids.tracking_value_ids.mapped("new_value_char"),
                      "the reassignment is tracked in the chatter")
        self.assertEqual(other_lead.sla_state, "overdue")
        self.assertEqual(other_lead.user_id, self.salesman, "another pipeline's stage: the rule's filter keeps it")

        # the rule fires once: the next sweep finds nothing to change
        with self.mock_datetime_and_now(T0 + timedelta(days=4)):
            new_lead.user_id = self.salesman
            self.env["crm.lead"]._cron_sweep_sla()
        self.assertEqual(new_lead.user_id, self.salesman)
