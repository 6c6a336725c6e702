"""Pipelines: fixed stage probabilities for forecasting; the four seeded pipelines (each loads as
documented, a lead walks through every stage of each by its rules, an upgrade keeps a consultant's
edits); the "New Pipeline from Template" wizard; the demo board."""
import io
from datetime import timedelta

from lxml import etree
from psycopg2 import IntegrityError

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, TransactionCase, new_test_user, tagged, users
from odoo.tools import convert_file, convert_xml_import, file_open, mute_logger

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

    @users("user_sales_salesman")
    def test_one_probability_where_the_pipeline_fixes_them(self):
        """The form shows the stage's probability alone (not Odoo's prediction and its button beside
        it), and the prediction cannot overwrite it."""
        lead = self._new_leads(user=self.env.user)
        self.assertTrue(lead.is_fixed_probability)
        self.assertFalse(self.env["crm.lead"].new({"team_id": self.sales_team_1.id}).is_fixed_probability)
        arch = etree.fromstring(lead.get_views([(False, "form")])["views"]["form"]["arch"])
        for node in (arch.xpath("//button[@name='action_set_automated_probability']")
                     + arch.xpath("//field[@name='automated_probability']/..")):
            self.assertIn("is_fixed_probability", node.get("invisible"))
        with self.assertRaises(UserError) as error:
            lead.action_set_automated_probability()
        self.assertIn("fixed probability per stage", str(error.exception))
        self.assertEqual(lead.probability, 10)
        plain = self._create_opportunity().with_user(self.env.user)
        plain.action_set_automated_probability()
        self.assertEqual(plain.probability, plain.automated_probability, "elsewhere, Odoo's button works")

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


# ----------------------------------------------------------------------------------------------
# The seeded pipelines, as documented in the README: per stage its name, fixed probability, SLA
# (duration, unit, counted in), fields required to enter, whether a planned activity is required,
# and its mandatory / optional checklist items
# ----------------------------------------------------------------------------------------------

MODULE = "sales_process_stages"
WORKING, CALENDAR = "working", "calendar"
PIPELINES = {
    "pv": {
        "name": "Photovoltaics (PV)", "skip": False, "back": True, "won_from": ["closing"],
        "stages": [
            ("new", "Contact the new lead", 10, (15, "minutes", WORKING), [], False, 1, 1),
            ("meeting", "Meet the customer and assess the site", 20, (2, "days", WORKING),
             ["city", "partner_id", "phone", "street"], True, 2, 1),
            ("offer", "Prepare the offer", 40, (5, "days", WORKING), ["email_from"], False, 4, 0),
            ("closing", "Close the deal", 70, (7, "days", CALENDAR), ["date_deadline", "expected_revenue"], False,
             2, 2),
            ("won", "Won", 100, None, [], False, 0, 0),
        ],
        "reasons": ["Roof or site not suitable", "Financing not approved", "Grid connection refused"],
    },
    "insurance": {
        "name": "Insurance (life, mortgage, leasing cover)", "skip": False, "back": True,
        "won_from": ["underwriting"],
        "stages": [
            ("new", "Contact the new lead", 10, (10, "minutes", WORKING), [], False, 2, 0),
            ("needs", "Analyse and document the needs", 20, (5, "days", WORKING),
             ["email_from", "partner_id", "phone"], True, 2, 0),
            ("quotes", "Request quotes from insurers", 40, (7, "days", CALENDAR), ["expected_revenue"], False, 3, 0),
            ("underwriting", "Complete underwriting and medical checks", 70, (21, "days", CALENDAR),
             ["date_deadline"], False, 3, 1),
            ("won", "Policy signed", 100, None, [], False, 0, 0),
        ],
        "reasons": ["Declined by the insurer", "Premium too high", "Loan or leasing not granted"],
    },
    "saas": {
        "name": "SaaS subscriptions", "skip": True, "back": True, "won_from": ["negotiation"],
        "stages": [
            ("new", "Contact the new lead", 10, (1, "hours", WORKING), [], False, 2, 0),
            ("demo", "Run the discovery call and demo", 20, (2, "days", WORKING), ["email_from", "partner_id"], True,
             2, 0),
            ("trial", "Run the 14-day trial", 40, (14, "days", CALENDAR), ["email_from"], False, 2, 1),
            ("proposal", "Send the proposal", 60, (7, "days", CALENDAR), ["expected_revenue", "partner_id"], False,
             2, 0),
            ("negotiation", "Negotiate the terms", 80, (14, "days", CALENDAR), ["date_deadline"], False, 2, 0),
            ("won", "Won", 100, None, [], False, 0, 0),
        ],
        "reasons": ["Trial not converted", "Missing feature", "Building it in-house"],
    },
    "b2b": {
        "name": "B2B corporate sales", "skip": True, "back": True, "won_from": ["contract"],
        "stages": [
            ("interest", "Interest (BANT)", 5, (4, "hours", WORKING), [], False, 5, 0),
            ("qualify", "Qualification", 10, (2, "days", WORKING), ["partner_id"], False, 2, 0),
            ("needs", "Needs", 20, (10, "days", WORKING), ["user_id"], True, 2, 0),
            ("presentation", "Presentation", 30, (10, "days", WORKING), [], True, 1, 1),
            ("contacts", "Decision Makers", 40, (10, "days", WORKING), [], False, 2, 0),
            ("proposal", "Proposal", 50, (5, "days", WORKING), ["expected_revenue"], False, 1, 1),
            ("proposal_presentation", "Proposal Meeting", 60, (7, "days", CALENDAR), ["date_deadline"], True, 2, 0),
            ("negotiation", "Negotiation", 75, (20, "days", WORKING), [], False, 1, 1),
            ("contract", "Contract", 90, (10, "days", WORKING), [], False, 3, 0),
            ("won", "Won", 100, None, [], False, 0, 0),
        ],
        "reasons": ["Lost the tender", "No access to the decision maker", "Project postponed or cancelled"],
    },
}
DATA_FILES = [f"data/crm_pipeline_{key}_data.xml" for key in PIPELINES]


class PipelineCommon(TransactionCase):
    """The seeded pipelines as they are in the database (crm's test fixtures reorder every stage:
    not used here), a salesperson and a sales manager."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesman = new_test_user(cls.env, login="sps_pipeline_salesman", name="Sam Seller",
                                     groups="sales_team.group_sale_salesman", notification_type="inbox")
        cls.manager = new_test_user(cls.env, login="sps_pipeline_manager", name="Mia Manager",
                                    groups="sales_team.group_sale_manager", notification_type="inbox")
        cls.customer = cls.env["res.partner"].create({"name": "Sunny Roofs Ltd", "is_company": True})
        cls.templates = {key: cls.env.ref(f"{MODULE}.crm_team_pipeline_{key}") for key in PIPELINES}

    def _stages(self, team):
        return self.env["crm.stage"].search([("team_id", "=", team.id)], order="sequence, id")

    def _values(self, names):
        today = fields.Date.context_today(self.env["crm.lead"])
        values = {
            "partner_id": self.customer.id, "phone": "+48 600 100 200", "email_from": "buyer@example.com",
            "street": "Lipowa 12", "city": "Wrocław", "expected_revenue": 25000.0,
            "date_deadline": today + timedelta(days=30), "user_id": self.salesman.id,
        }
        return {name: values[name] for name in names}

    def _complete_items(self, lead):
        """Each open item of the lead's stage done by its responsible, step by step (the items
        waiting for others start once those are done); a file first where it needs one."""
        def open_lines():
            return lead.checklist_line_ids.filtered(
                lambda line: line.stage_id == lead.stage_id and line.state == "open")

        lines = open_lines()
        while lines:
            for line in lines:
                line = line.with_user(line.user_id)
                if line.needs_attachment:
                    with self.assertRaises(UserError, msg="a file is needed"):
                        line.action_done()
                    line.env["ir.attachment"].create({
                        "name": "document.pdf", "res_model": line._name, "res_id": line.id,
                        "raw": b"%PDF-1.4 signed"})
                line.action_done()
            self.assertEqual(set(lines.mapped("state")), {"done"})
            lines = open_lines()
        self.assertFalse(lead.checklist_line_ids.filtered(
            lambda line: line.stage_id == lead.stage_id and line.state == "waiting"), "nothing left waiting")

    def _walk(self, team):
        """One lead through every stage of the pipeline by its rules, as its salesperson, then won.

        At each step, the gate first refuses the move (open mandatory items, missing values, no
        planned activity), then the salesperson does what is missing and the move passes: the lead
        gets the stage's probability, checklist and a running SLA."""
        stages = self._stages(team)
        open_stages, won_stage = stages.filtered(lambda stage: not stage.is_won), stages.filtered("is_won")
        # a salesperson of the pipeline (Odoo moves a lead to its salesperson's team)
        team.write({"member_ids": [(4, self.salesman.id)]})
        Lead = self.env["crm.lead"].with_user(self.salesman)
        # a pipeline requiring a salesperson on the way gets its leads unassigned
        assigned = "user_id" not in stages.required_field_ids.mapped("name")
        lead = Lead.create({"name": f"Walk through {team.name}", "type": "opportunity", "team_id": team.id,
                            "user_id": assigned and self.salesman.id})
        self.assertEqual(lead.stage_id, open_stages[0], "a new lead starts in the pipeline's own first stage")
        for stage in open_stages[1:]:
            current = lead.stage_id
            self.assertEqual(lead.probability, current.fixed_probability)
            self.assertEqual(lead.checklist_line_ids.filtered(lambda line, s=current: line.stage_id == s).item_id,
                             current.checklist_item_ids)
            self.assertEqual(lead.sla_state, "on_track" if current.sla_enabled else "none")
            blocked = current.checklist_item_ids.filtered("is_mandatory") or stage.required_field_ids \
                or stage.require_next_activity
            if blocked:
                with self.assertRaises(UserError, msg=f"entering {stage.name} too early"):
                    lead.write({"stage_id": stage.id})
            if won_stage and current.id not in team.won_from_stage_ids.ids:
                with self.assertRaisesRegex(UserError, "allows winning only from"):
                    lead.action_set_won()
            self._complete_items(lead)
            lead.write(self._values(stage.required_field_ids.mapped("name")))
            if stage.require_next_activity:
                lead.activity_schedule("mail.mail_activity_data_meeting", user_id=self.salesman.id,
                                       date_deadline=fields.Date.context_today(lead) + timedelta(days=1))
            lead.write({"stage_id": stage.id})
            self.assertEqual(lead.stage_id, stage)
        self.assertEqual(lead.probability, lead.stage_id.fixed_probability)
        self._complete_items(lead)
        if not lead.stage_id.is_won:  # a step may win it (the B2B signed contract)
            lead.action_set_won()
        self.assertEqual((lead.stage_id, lead.probability, lead.sla_state), (won_stage, 100, "none"))
        self.assertEqual((lead.team_id, lead.user_id), (team, self.salesman))
        self.assertEqual(lead.stage_history_ids.stage_id, stages, "one stay per stage")
        return lead


@tagged("post_install", "-at_install", "pipelines")
class TestSeededPipelines(PipelineCommon):

    def test_templates_load_as_documented(self):
        Field = self.env["ir.model.fields"]
        for key, spec in PIPELINES.items():
            with self.subTest(pipeline=key):
                team = self.templates[key]
                self.assertEqual(team.name, spec["name"])
                self.assertTrue(team.is_pipeline_template and team.own_stages_only and team.use_opportunities)
                self.assertTrue(team.lost_reason_required)
                self.assertEqual(team.probability_mode, "fixed")
                self.assertEqual((team.allow_skip_stages, team.allow_move_back), (spec["skip"], spec["back"]))
                won_from = self.env.ref(f"{MODULE}.crm_stage_{key}_{spec['won_from'][0]}")
                self.assertEqual(team.won_from_stage_ids, won_from)
                stages = self._stages(team)
                self.assertEqual(len(stages), len(spec["stages"]))
                for stage, expected in zip(stages, spec["stages"], strict=True):
                    xmlid, name, probability, sla, required, next_activity, mandatory, optional = expected
                    self.assertEqual(stage, self.env.ref(f"{MODULE}.crm_stage_{key}_{xmlid}"))
                    self.assertEqual((stage.name, stage.fixed_probability, stage.is_won),
                                     (name, probability, xmlid == "won"))
                    self.assertEqual(sorted(stage.required_field_ids.mapped("name")), required, name)
                    self.assertTrue(stage.required_field_ids <= Field.search([("model", "=", "crm.lead")]))
                    self.assertEqual(stage.require_next_activity, next_activity, name)
                    self.assertEqual(
                        (stage.sla_duration, stage.sla_duration_unit, stage.sla_time_basis) if stage.sla_enabled
                        else None, sla, name)
                    items = stage.checklist_item_ids
                    mandatory_items = items.filtered("is_mandatory")
                    self.assertEqual((len(mandatory_items), len(items - mandatory_items)), (mandatory, optional), name)
                reasons = self.env["crm.lost.reason"].search([("team_ids", "in", team.ids)])
                self.assertEqual(sorted(reasons.mapped("name")), sorted(spec["reasons"]))

    def test_realistic_slas(self):
        """Speed to lead: a PV or insurance web lead is called within minutes, a SaaS trial request
        within the hour, a corporate enquiry within half a working day, and the team leader hears of
        it when not; a first contact followed up two days after; a sent offer followed up within a
        week; a trial lasts 14 days."""
        ref = self.env.ref
        within = {"pv": (15, "minutes"), "insurance": (10, "minutes"), "saas": (1, "hours"), "b2b": (4, "hours")}
        for key in PIPELINES:
            first = self._stages(self.templates[key])[0]
            self.assertEqual((first.sla_duration, first.sla_duration_unit, first.sla_time_basis),
                             (*within[key], "working"))
            self.assertTrue(first.sla_escalate and first.sla_notify_leader)
            self.assertLessEqual(first.sla_leader_delay, first.sla_duration)
            self.assertEqual(first.sla_leader_delay_unit, first.sla_duration_unit)
            call = first.checklist_item_ids.filtered(lambda item: item.activity_type_id.category == "phonecall")
            self.assertEqual((call.due_offset, call.due_offset_unit), (0, "days"), "called the day it comes in")
        for xmlid in ("pv_meeting_follow_up", "saas_demo_follow_up"):
            self.assertEqual(ref(f"{MODULE}.crm_stage_checklist_item_{xmlid}").due_offset, 2)
        for xmlid in ("pv_closing", "saas_proposal", "b2b_proposal_presentation", "insurance_quotes"):
            stage = ref(f"{MODULE}.crm_stage_{xmlid}")
            self.assertEqual((stage.sla_duration, stage.sla_duration_unit, stage.sla_time_basis),
                             (7, "days", "calendar"))
        trial = ref(f"{MODULE}.crm_stage_saas_trial")
        self.assertEqual((trial.sla_duration, trial.sla_duration_unit), (14, "days"))
        self.assertEqual(ref(f"{MODULE}.crm_stage_checklist_item_saas_trial_reminder").due_offset, 11,
                         "reminded three days before the trial ends")

    def test_walk_each_pipeline_by_its_rules(self):
        for key, team in self.templates.items():
            with self.subTest(pipeline=key):
                self._walk(team)

    def test_pipelines_without_skipping_refuse_it(self):
        for key, team in self.templates.items():
            stages = self._stages(team)
            lead = self.env["crm.lead"].with_user(self.salesman).create({
                "name": "Skipper", "type": "opportunity", "team_id": team.id, "user_id": self.salesman.id,
                **self._values(["partner_id", "phone", "email_from", "street", "city", "expected_revenue",
                                "date_deadline"]),
            })
            self._complete_items(lead)
            with self.subTest(pipeline=key):
                target = stages[2]
                if target.require_next_activity or stages[1].require_next_activity:
                    lead.activity_schedule("mail.mail_activity_data_call", user_id=self.salesman.id,
                                           date_deadline=fields.Date.context_today(lead) + timedelta(days=1))
                if PIPELINES[key]["skip"]:
                    lead.write({"stage_id": target.id})
                    self.assertEqual(lead.stage_id, target)
                else:
                    with self.assertRaisesRegex(UserError, "does not allow skipping stages"):
                        lead.write({"stage_id": target.id})

    def test_own_stages_only(self):
        """A stage shared by every pipeline is no column, no first stage, no next stage of the seeded ones."""
        shared = self.env["crm.stage"].create({"name": "Shared stage", "sequence": 15})
        first = self.env["crm.stage"].create({"name": "Shared first", "sequence": 0})
        team = self.templates["pv"]
        stages = self._stages(team)
        groups = self.env["crm.lead"].with_context(default_team_id=team.id).web_read_group(
            [("team_id", "=", team.id)], ["stage_id"], ["stage_id"])["groups"]
        self.assertEqual([group["stage_id"][0] for group in groups], stages.ids)
        lead = self.env["crm.lead"].create({"name": "Own", "type": "opportunity", "team_id": team.id,
                                            "user_id": self.salesman.id, **self._values(["partner_id"])})
        self.assertEqual(lead.stage_id, stages[0])
        self.assertNotIn(shared, lead._stage_find(limit=None))
        self.assertEqual(lead._get_next_stage_id(self.env["crm.stage"]._get_process_rules()), stages[1].id,
                         "the shared stage in between is not the next stage of a pipeline without skipping")
        # a plain pipeline keeps Odoo's shared stages
        plain = self.env["crm.team"].create({"name": "Plain team"})
        self.assertEqual(self.env["crm.lead"].create({"name": "Plain", "team_id": plain.id}).stage_id, first)

    def test_lost_reasons_of_the_pipeline(self):
        pv, saas = self.templates["pv"], self.templates["saas"]
        lead = self.env["crm.lead"].with_user(self.salesman).create({
            "name": "Lost", "type": "opportunity", "team_id": pv.id, "user_id": self.salesman.id})
        saas_reason = self.env.ref(f"{MODULE}.lost_reason_saas_trial")
        with self.assertRaisesRegex(UserError, "is not one of pipeline"):
            lead.action_set_lost(lost_reason_id=saas_reason.id, lost_note="Not converted")
        wizard = self.env["crm.lead.lost"].with_user(self.salesman).create({"lead_ids": [(6, 0, lead.ids)]})
        offered = self.env["crm.lost.reason"].search(
            ["|", ("team_ids", "=", False), ("team_ids", "in", wizard.lead_team_ids.ids)])
        self.assertIn(self.env.ref(f"{MODULE}.lost_reason_pv_financing"), offered)
        self.assertIn(self.env.ref(f"{MODULE}.lost_reason_no_budget"), offered, "shared reasons too")
        self.assertNotIn(saas_reason, offered)
        lead.action_set_lost(lost_reason_id=self.env.ref(f"{MODULE}.lost_reason_pv_financing").id)
        self.assertFalse(lead.active)
        self.assertEqual(saas.id in saas_reason.team_ids.ids, True)


@tagged("post_install", "-at_install", "pipelines")
class TestPipelineTemplateWizard(PipelineCommon):

    def _create_pipeline(self, template, name, leader=None):
        wizard = self.env["crm.pipeline.template.wizard"].with_user(self.manager).create({
            "template_team_id": template.id, "name": name, "user_id": (leader or self.manager).id})
        self.assertEqual(wizard.stage_count, len(self._stages(template)))
        action = wizard.action_create_pipeline()
        team = self.env["crm.team"].browse(action["context"]["default_team_id"])
        self.assertEqual(action["res_model"], "crm.lead")
        return team

    @staticmethod
    def _stage_setup(stage):
        return (
            stage.name, stage.sequence, stage.is_won, stage.fixed_probability, stage.fold,
            tuple(stage.required_field_ids.ids), stage.require_next_activity,
            tuple(stage[name] for name in stage._fields if name.startswith("sla_")),
            tuple((item.name, item.description, item.sequence, item.is_mandatory, item.responsible_type,
                   item.responsible_user_id.id, item.due_offset, item.due_offset_unit, item.activity_type_id.id,
                   item.needs_attachment) for item in stage.checklist_item_ids),
        )

    def test_new_pipeline_from_each_template(self):
        for key, template in self.templates.items():
            with self.subTest(pipeline=key):
                team = self._create_pipeline(template, f"{template.name}, North")
                self.assertEqual((team.name, team.user_id, team.active),
                                 (f"{template.name}, North", self.manager, True))
                self.assertFalse(team.is_pipeline_template)
                for name in ("own_stages_only", "probability_mode", "lost_reason_required", "allow_skip_stages",
                             "allow_move_back", "use_opportunities", "resource_calendar_id"):
                    self.assertEqual(team[name], template[name], name)
                stages, template_stages = self._stages(team), self._stages(template)
                self.assertFalse(stages & template_stages, "copies, not the template's stages")
                self.assertEqual([self._stage_setup(stage) for stage in stages],
                                 [self._stage_setup(stage) for stage in template_stages])
                self.assertEqual(team.won_from_stage_ids.mapped("name"), template.won_from_stage_ids.mapped("name"))
                self.assertEqual(team.won_from_stage_ids.team_id, team)
                reasons = self.env["crm.lost.reason"].search([("team_ids", "in", template.ids)])
                self.assertTrue(all(team in reason.team_ids for reason in reasons), "the template's lost reasons")
                lead = self._walk(team)
                self.assertEqual(lead.stage_id.team_id, team)

    def test_copy_is_independent_of_its_template(self):
        template = self.templates["pv"]
        team = self._create_pipeline(template, "PV South")
        template_before = [self._stage_setup(stage) for stage in self._stages(template)]
        copy_offer = self._stages(team)[2]
        copy_offer.write({"name": "Prepare the quote", "sla_duration": 3, "fixed_probability": 35})
        copy_offer.checklist_item_ids[0].write({"name": "Check the roof", "due_offset": 5})
        copy_offer.checklist_item_ids[-1].unlink()
        team.won_from_stage_ids = [(5, 0, 0)]
        self.assertEqual([self._stage_setup(stage) for stage in self._stages(template)], template_before)
        self.assertEqual(template.won_from_stage_ids, self.env.ref(f"{MODULE}.crm_stage_pv_closing"))
        # and the other way round
        template_offer = self.env.ref(f"{MODULE}.crm_stage_pv_offer")
        template_offer.write({"name": "Offer (edited template)"})
        self.assertEqual(copy_offer.name, "Prepare the quote")

    def test_team_leader_items_go_to_the_new_leader(self):
        team = self._create_pipeline(self.templates["b2b"], "B2B, public sector", leader=self.manager)
        lead = self.env["crm.lead"].create({"name": "Tender", "type": "opportunity", "team_id": team.id,
                                            "user_id": self.salesman.id, **self._values(["partner_id"])})
        self._complete_items(lead.with_user(self.salesman))
        lead.with_user(self.salesman).write({"stage_id": self._stages(team)[1].id})
        lines = lead.checklist_line_ids.filtered(lambda line: line.stage_id == lead.stage_id)
        self.assertEqual(set(lines.mapped("user_id")), {self.manager}, "the head of the sales line qualifies")

    def test_only_sales_managers_create_pipelines(self):
        with self.assertRaises(AccessError):
            self.env["crm.pipeline.template.wizard"].with_user(self.salesman).create(
                {"template_team_id": self.templates["pv"].id, "name": "Mine"})
        with self.assertRaisesRegex(UserError, "Name the new pipeline"):
            self.env["crm.pipeline.template.wizard"].with_user(self.manager).create(
                {"template_team_id": self.templates["pv"].id, "name": " "}).action_create_pipeline()


@tagged("post_install", "-at_install", "pipelines")
class TestPipelineUpgrade(PipelineCommon):
    """Upgrading the addon loads its data files again: what a consultant changed in the seeded
    pipelines stays, what they deleted stays deleted."""

    def _upgrade_data(self, content=None):
        self.env.flush_all()
        for path in DATA_FILES:
            if content is None:
                convert_file(self.env, MODULE, path, {}, mode="update", noupdate=False, kind="data")
            else:
                with file_open(f"{MODULE}/{path}", "rb") as file:
                    xml = io.BytesIO(content(file.read()))
                xml.name = path
                convert_xml_import(self.env, MODULE, xml, {}, mode="update")
        self.env.invalidate_all()

    def _edit(self):
        ref = self.env.ref
        ref(f"{MODULE}.crm_stage_pv_offer").write({"name": "Prepare the quote", "sla_duration": 3,
                                                   "fixed_probability": 35})
        ref(f"{MODULE}.crm_stage_checklist_item_b2b_interest_budget").write({"name": "Budget confirmed"})
        ref(f"{MODULE}.crm_team_pipeline_saas").write({"allow_skip_stages": False, "won_from_stage_ids": [(5, 0, 0)]})
        ref(f"{MODULE}.lost_reason_insurance_premium").write({"name": "Premium too high for the client"})
        ref(f"{MODULE}.crm_stage_checklist_item_pv_closing_survey").unlink()

    def _assert_edits_kept(self):
        ref = self.env.ref
        offer = ref(f"{MODULE}.crm_stage_pv_offer")
        self.assertEqual((offer.name, offer.sla_duration, offer.fixed_probability), ("Prepare the quote", 3, 35))
        self.assertEqual(ref(f"{MODULE}.crm_stage_checklist_item_b2b_interest_budget").name, "Budget confirmed")
        saas = ref(f"{MODULE}.crm_team_pipeline_saas")
        self.assertEqual((saas.allow_skip_stages, saas.won_from_stage_ids.ids), (False, []))
        self.assertEqual(ref(f"{MODULE}.lost_reason_insurance_premium").name, "Premium too high for the client")
        self.assertFalse(ref(f"{MODULE}.crm_stage_checklist_item_pv_closing_survey", raise_if_not_found=False))
        self.assertNotIn("Send the satisfaction survey",
                         ref(f"{MODULE}.crm_stage_pv_closing").checklist_item_ids.mapped("name"))

    def test_upgrade_keeps_a_consultants_edits(self):
        self._edit()
        self._upgrade_data()
        self._assert_edits_kept()
        seeded = self.env["ir.model.data"].search([
            ("module", "=", MODULE), ("model", "in", ["crm.team", "crm.stage", "crm.stage.checklist.item",
                                                        "crm.lost.reason", "mail.activity.type"])])
        self.assertGreater(len(seeded), 100)
        self.assertTrue(all(seeded.mapped("noupdate")), "every seeded record is noupdate")

    def test_the_check_would_see_an_overwrite(self):
        """Control: the same data without noupdate (in the files, hence on their XML ids) are
        overwritten by an upgrade: the test above proves something."""
        self._edit()
        self.env["ir.model.data"].search([("module", "=", MODULE), ("model", "=", "crm.stage")]).noupdate = False
        self._upgrade_data(lambda xml: xml.replace(b'noupdate="1"', b'noupdate="0"'))
        offer = self.env.ref(f"{MODULE}.crm_stage_pv_offer")
        self.assertEqual((offer.name, offer.sla_duration, offer.fixed_probability), ("Prepare the offer", 5, 40))


@tagged("post_install", "-at_install", "pipelines")
class TestPipelineDemo(TransactionCase):
    """The demo board (the test database has the addon's demo data: without it, this fails)."""

    def test_demo_data_is_loaded(self):
        self.assertTrue(self.env.ref(f"base.module_{MODULE}").demo, "install the addon with its demo data")
        self.env.ref(f"{MODULE}.crm_lead_demo_pv_01")  # raises without demo data

    def test_each_pipeline_is_a_living_board(self):
        Lead = self.env["crm.lead"].with_context(active_test=False)
        demo_lead_ids = self.env["ir.model.data"].search(
            [("module", "=", MODULE), ("model", "=", "crm.lead"), ("name", "=like", "crm_lead_demo_%")],
        ).mapped("res_id")
        for key in PIPELINES:
            with self.subTest(pipeline=key):
                team = self.env.ref(f"{MODULE}.crm_team_pipeline_{key}")
                stages = self.env["crm.stage"].search([("team_id", "=", team.id)])
                leads = Lead.search([("id", "in", demo_lead_ids), ("team_id", "=", team.id)])
                self.assertGreaterEqual(len(leads), 12)
                active, lost = leads.filtered("active"), leads - leads.filtered("active")
                self.assertEqual(active.stage_id, stages, "a lead in every stage")
                won = active.filtered("stage_id.is_won")
                self.assertGreaterEqual(len(won), 2)
                self.assertEqual(set(won.mapped("probability")), {100})
                self.assertGreaterEqual(len(lost), 2)
                for lead in lost:
                    self.assertTrue(lead.lost_reason_id)
                    self.assertTrue(not lead.lost_reason_id.team_ids or team in lead.lost_reason_id.team_ids)
                    if lead.lost_reason_id.requires_competitor:
                        self.assertTrue(lead.lost_competitor_name)
                    if lead.lost_reason_id.requires_note:
                        self.assertTrue(lead.lost_note)
                running = active - won
                self.assertLessEqual({"on_track", "due_soon", "overdue"}, set(running.mapped("sla_state")))
                self.assertTrue(running.filtered(lambda lead: 0 < lead.checklist_progress < 100),
                                "half-done checklists")
                for lead in running.filtered(lambda lead: lead.sla_state == "overdue"):
                    self.assertTrue(lead.activity_ids.filtered(
                        lambda activity: activity.activity_type_id == self.env.ref(
                            f"{MODULE}.mail_activity_type_sla_overdue")), "overdue leads were escalated")
                self.assertGreater(max(leads.mapped("days_in_process")), 7, "leads with a past")
                for lead in running:
                    self.assertEqual(lead.probability, lead.stage_id.fixed_probability)
                    self.assertEqual(lead.stage_history_ids.filtered(lambda stay: not stay.date_out).stage_id,
                                     lead.stage_id)
                self.assertTrue(all(stay.duration_hours > 0 for stay in leads.stage_history_ids if stay.date_out))
                # the board: the pipeline's own stages as columns
                groups = self.env["crm.lead"].with_context(default_team_id=team.id).web_read_group(
                    [("team_id", "=", team.id)], ["stage_id"], ["stage_id"])["groups"]
                self.assertEqual({group["stage_id"][0] for group in groups}, set(stages.ids))

    def test_people_outside_sales_do_their_items(self):
        for login in ("engineer", "analyst"):
            user = self.env.ref(f"{MODULE}.user_demo_{login}")
            self.assertFalse(user.has_group("sales_team.group_sale_salesman"), "no CRM rights")
            lines = self.env["crm.lead.checklist.line"].with_user(user).search([("user_id", "=", user.id)])
            self.assertTrue(lines.filtered(lambda line: line.state == "done"))
            self.assertTrue(lines.filtered(lambda line: line.state == "open"), f"the {login} has work to do")
        self.assertTrue(self.env["crm.lead"].search([("sla_hold_until", "!=", False),
                                                     ("id", "in", self.env.ref(f"{MODULE}.crm_lead_demo_b2b_09").ids)]))


@tagged("post_install", "-at_install", "pipelines")
class TestPipelineDemoBoard(HttpCase):
    """The demo boards in the web client: each seeded pipeline's own stages as columns, its cards
    with green, yellow and red SLA badges and checklist progress bars."""

    def test_demo_boards_in_the_web_client(self):
        for key in PIPELINES:
            team = self.env.ref(f"{MODULE}.crm_team_pipeline_{key}")
            stage_count = self.env["crm.stage"].search_count([("team_id", "=", team.id)])
            action = self.env["ir.actions.act_window"].create({
                "name": team.name, "res_model": "crm.lead", "view_mode": "kanban,form",
                "view_id": self.env.ref("crm.crm_case_kanban_view_leads").id,
                "domain": [("type", "=", "opportunity"), ("team_id", "=", team.id)],
                "context": {"default_team_id": team.id, "default_type": "opportunity"},
            })
            checks = [f"document.querySelectorAll('.o_kanban_group').length === {stage_count}",
                      "document.querySelector('.o_sps_checklist_progress .fa-check-square-o')"]
            checks += [f"document.querySelector('.o_sps_sla_badge.text-bg-{colour}')"
                       for colour in ("success", "warning", "danger")]
            with self.subTest(pipeline=key):
                self.browser_js(f"/odoo/action-{action.id}", "console.log('test successful')",
                                ready="!!(%s)" % " && ".join(checks), login="admin", timeout=60)


@tagged("post_install", "-at_install")
class TestSalesProcessMenu(PipelineCommon):
    """CRM > Configuration > Sales Process: the consultant's configuration without developer mode."""

    def test_sales_process_configuration_without_developer_mode(self):
        Menu = self.env["ir.ui.menu"]
        menus = {name: self.env.ref(f"{MODULE}.{name}") for name in (
            "crm_stage_menu_sales_process", "crm_stage_checklist_item_menu", "crm_pipeline_template_wizard_menu",
            "base_automation_menu_crm_lead")}
        manager_menus = Menu.with_user(self.manager)._visible_menu_ids(debug=False)
        for name in ("crm_stage_menu_sales_process", "crm_stage_checklist_item_menu",
                     "crm_pipeline_template_wizard_menu"):
            self.assertIn(menus[name].id, manager_menus, name)
        self.assertNotIn(menus["base_automation_menu_crm_lead"].id, manager_menus, "rules are the administrators'")
        self.assertNotIn(self.env.ref("crm.menu_crm_lead_stage_act").id, manager_menus, "Odoo's needs debug")
        admin_menus = Menu.with_user(self.env.ref("base.user_admin"))._visible_menu_ids(debug=False)
        self.assertIn(menus["base_automation_menu_crm_lead"].id, admin_menus)
        self.assertNotIn(menus["crm_stage_menu_sales_process"].id,
                         Menu.with_user(self.salesman)._visible_menu_ids(debug=False))
        stages = self.env.ref(f"{MODULE}.crm_stage_action_sales_process")
        self.assertEqual(stages.res_model, "crm.stage")
        self.assertLessEqual(self._stages(self.templates["pv"]),
                             self.env["crm.stage"].with_user(self.manager).search([]))
