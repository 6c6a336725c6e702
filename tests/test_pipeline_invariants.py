"""The gate judges where a lead ends up, whatever the sequence of writes that brought it there
(``models/crm_lead_pipeline.py``; README, "Invariants"). Each sequence is played as the demo
salesman would play it: over JSON-RPC, one ordinary write at a time, on the seeded PV pipeline
(own stages only, no skipping, won only from "Close the deal", a lost reason required, fixed
probabilities)."""


from odoo.exceptions import UserError
from odoo.tests import HttpCase, tagged

from .common import JsonRpcMixin, SalesProcessCommon


@tagged("post_install", "-at_install")
class TestPipelineSequences(SalesProcessCommon, JsonRpcMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ref = cls.env.ref
        cls.team_pv = ref("sales_process_stages.crm_team_pipeline_pv")
        cls.pv_new = ref("sales_process_stages.crm_stage_pv_new")
        cls.pv_meeting = ref("sales_process_stages.crm_stage_pv_meeting")
        cls.pv_offer = ref("sales_process_stages.crm_stage_pv_offer")
        cls.pv_closing = ref("sales_process_stages.crm_stage_pv_closing")
        cls.pv_won = ref("sales_process_stages.crm_stage_pv_won")
        cls.pv_reason = ref("sales_process_stages.lost_reason_pv_financing")
        cls.salesman = cls.user_sales_salesman
        cls.team_pv.member_ids = [(4, cls.salesman.id)]

    def _pv_lead(self, stage=None, **values):
        """A PV lead of the salesman, created by the process in ``stage`` (default: the first)."""
        return self.env["crm.lead"].create({
            "name": "PV roof", "type": "opportunity", "team_id": self.team_pv.id,
            "stage_id": (stage or self.pv_new).id, "user_id": self.salesman.id,
            "partner_id": self.contact_1.id, "phone": "+48 600 100 200", "street": "Polna 1",
            "city": "Kraków", "email_from": "roof@example.com", "expected_revenue": 20000,
            "date_deadline": "2027-01-31", **values,
        })

    def _write(self, lead, vals, login="user_sales_salesman"):
        return self._rpc("crm.lead", "write", [lead.ids, vals], login=login)

    def assertRefused(self, outcome, *fragments):
        __, error = outcome
        self.assertTrue(error, "the write is refused")
        self.assertEqual(error[0], "odoo.exceptions.ValidationError")
        for fragment in fragments:
            self.assertIn(fragment, error[1])

    def _place(self, lead):
        lead.invalidate_recordset()
        return lead.team_id, lead.stage_id, lead.active

    # ------------------------------------------------------------
    # a lead's stage belongs to its pipeline
    # ------------------------------------------------------------

    def test_won_through_another_pipeline_is_refused(self):
        lead = self._pv_lead()
        before = self._place(lead)
        self.assertRefused(self._write(lead, {"team_id": self.team_plain.id, "stage_id": self.pv_won.id}),
                           "is not a stage of pipeline", self.team_plain.name)
        self.assertEqual(self._place(lead), before, "nothing written")
        # the second write of the sequence changes nothing either: the lead is still in PV's first stage
        self.assertEqual(self._write(lead, {"team_id": self.team_pv.id}), (True, None))
        self.assertEqual(self._place(lead), before)
        self.assertFalse(lead.stage_id.is_won)

    def test_pipeline_change_alone_puts_the_lead_in_the_new_pipelines_first_stage(self):
        lead = self._pv_lead()
        self.assertEqual(self._write(lead, {"team_id": self.team_plain.id}), (True, None))
        team, stage, __ = self._place(lead)
        self.assertEqual(team, self.team_plain)
        self.assertTrue(not stage.team_id or stage.team_id == self.team_plain,
                        "a stage of the new pipeline, not PV's")
        # and back: PV's first stage, its won stage still out of reach
        self.assertRefused(self._write(lead, {"team_id": self.team_pv.id, "stage_id": self.pv_won.id}),
                           "allows winning only from")
        self.assertEqual(self._write(lead, {"team_id": self.team_pv.id}), (True, None))
        self.assertEqual(self._place(lead)[:2], (self.team_pv, self.pv_new))

    def test_transfer_wizard_into_a_won_stage_is_refused_on_the_server(self):
        lead = self._pv_lead()
        other = self._pv_lead()
        self._write(other, {"team_id": self.team_plain.id})
        wizard_id, error = self._rpc("crm.lead.transfer", "create", [{
            "lead_ids": [(6, 0, other.ids)], "team_id": self.team_pv.id, "stage_id": self.pv_won.id,
            "reason": "the customer signed elsewhere"}])
        self.assertFalse(error)
        self.assertRefused(self._rpc("crm.lead.transfer", "action_transfer", [[wizard_id]]),
                           "allows winning only from")
        self.assertEqual(self._place(other)[0], self.team_plain)
        self.assertEqual(self._place(lead)[1], self.pv_new)

    def test_no_pipeline_is_no_way_around_the_pipelines_rules(self):
        lead = self._pv_lead()
        self.assertEqual(self._write(lead, {"team_id": False}), (True, None))
        team, stage, __ = self._place(lead)
        self.assertFalse(team)
        self.assertFalse(stage.team_id, "a stage shared by every pipeline")
        self.assertRefused(self._write(lead, {"stage_id": self.pv_closing.id}),
                           "is not a stage of pipeline", "no pipeline")
        self.assertRefused(self._write(lead, {"team_id": self.team_pv.id, "stage_id": self.pv_closing.id}),
                           "does not allow skipping stages", self.pv_new.name)
        self.assertEqual(self._place(lead)[:2], (team, stage))
        self.assertEqual(self._write(lead, {"team_id": self.team_pv.id}), (True, None))
        self.assertEqual(self._place(lead)[:2], (self.team_pv, self.pv_new))

    def test_leaving_and_coming_back_further_on_is_refused(self):
        """A pipeline that allows skipping: the items the lead left open there still block it."""
        self.team_pv.allow_skip_stages = True
        lead = self._pv_lead()
        self.assertTrue(lead.checklist_line_ids.filtered(lambda line: line.is_mandatory and line.state == "open"))
        self._write(lead, {"team_id": self.team_plain.id})
        self.assertRefused(self._write(lead, {"team_id": self.team_pv.id, "stage_id": self.pv_closing.id}),
                           "open mandatory items of", self.pv_new.name)
        self.assertEqual(self._place(lead)[0], self.team_plain)

    def test_lost_lead_stays_where_it_was_lost(self):
        lead = self._pv_lead()
        self._write(lead, {"team_id": self.team_plain.id})
        self.assertEqual(self._write(lead, {"active": False}), (True, None), "plain pipeline: no reason needed")
        before = self._place(lead)
        self.assertRefused(self._write(lead, {"team_id": self.team_pv.id}), "restore it")
        self.assertEqual(self._place(lead), before, "nothing written")
        self.assertFalse(lead.lost_reason_id)
        # nor lost into PV in one write without its reason
        other = self._pv_lead()
        self._write(other, {"team_id": self.team_plain.id})
        self.assertRefused(self._write(other, {"active": False, "team_id": self.team_pv.id}),
                           "requires a lost reason")
        self.assertTrue(self._place(other)[2])

    def test_restore_into_another_stage_is_a_move_from_the_lost_stage(self):
        lead = self._pv_lead(self.pv_offer)
        open_items = lead.checklist_line_ids.filtered(
            lambda line: line.stage_id == self.pv_offer and line.is_mandatory and line.state == "open")
        self.assertTrue(open_items)
        self.assertEqual(self._write(lead, {"active": False, "lost_reason_id": self.pv_reason.id}), (True, None))
        self.assertEqual(set(open_items.mapped("state")), {"cancelled"})
        self.assertRefused(self._write(lead, {"active": True, "stage_id": self.pv_closing.id}),
                           "Cannot leave", self.pv_offer.name, open_items[0].name)
        self.assertEqual(self._place(lead), (self.team_pv, self.pv_offer, False), "still lost, where it was")
        # a lost lead does not move while lost either
        self.assertRefused(self._write(lead, {"stage_id": self.pv_closing.id}), "restore it")
        # restored, it picks up where it was: the items open again
        self.assertEqual(self._write(lead, {"active": True}), (True, None))
        self.assertEqual(self._place(lead), (self.team_pv, self.pv_offer, True))
        self.assertEqual(set(open_items.mapped("state")) - {"waiting"}, {"open"})

    # ------------------------------------------------------------
    # what the rules read is the process's
    # ------------------------------------------------------------

    def test_stage_entry_date_is_the_processs(self):
        lead = self._pv_lead()
        entered = lead.date_last_stage_update
        self.assertRefused(self._write(lead, {"date_last_stage_update": "2000-01-01 00:00:00"}),
                           "set by the sales process")
        lead.invalidate_recordset()
        self.assertEqual(lead.date_last_stage_update, entered)
        __, error = self._rpc("crm.lead", "create", [{
            "name": "Old", "team_id": self.team_pv.id, "date_last_stage_update": "2000-01-01 00:00:00"}])
        self.assertEqual(error and error[0], "odoo.exceptions.ValidationError")
        self.assertFalse(self.env["crm.lead"].search([("name", "=", "Old")]))
        # a pipeline nobody configured: as in plain Odoo
        plain = self._create_opportunity()
        self.assertEqual(self._write(plain, {"date_last_stage_update": "2020-01-01 00:00:00"}), (True, None))

    def test_fixed_probability_is_the_stages(self):
        lead = self._pv_lead()
        self.assertEqual(lead.probability, 10)
        self.assertRefused(self._write(lead, {"probability": 100}), "gives each stage its win probability", "10")
        lead.invalidate_recordset()
        self.assertEqual((lead.probability, lead.stage_id), (10, self.pv_new))
        self.assertEqual(self._write(lead, {"probability": 10, "description": "same value"}), (True, None))
        # the form's onchange gives the stage's probability, not Odoo's prediction
        form_values = self.env["crm.lead"].with_user(self.salesman).onchange(
            {"team_id": self.team_pv.id, "stage_id": self.pv_new.id, "name": "x", "probability": 0.95},
            ["stage_id"], {"team_id": {}, "stage_id": {}, "probability": {}, "name": {}})
        self.assertEqual(form_values["value"].get("probability", 10), 10)
        # lost and restored: Odoo's own writes pass
        lead.with_user(self.salesman).action_set_lost(lost_reason_id=self.pv_reason.id)
        self.assertEqual(lead.probability, 0)
        lead.with_user(self.salesman).toggle_active()
        self.assertEqual((lead.active, lead.probability), (True, 10))
        # plain pipelines keep Odoo's manual probability
        plain = self._create_opportunity()
        self.assertEqual(self._write(plain, {"probability": 42}), (True, None))

    def test_call_attempts_are_calls_made(self):
        lead = self._pv_lead()
        call = self.env.ref("mail.mail_activity_data_call")
        for __ in range(6):
            self.assertRefused(self._rpc("crm.lead", "message_post", [lead.ids],
                                         {"body": "called", "mail_activity_type_id": call.id,
                                          "message_type": "notification"}),
                               "marking it done")
        self.assertRefused(self._rpc("mail.message", "create", [{
            "model": "crm.lead", "res_id": lead.id, "body": "called", "mail_activity_type_id": call.id,
            "message_type": "notification"}]), "marking it done")
        __, error = self._rpc("crm.lead", "message_post", [lead.ids], {"body": "a note"})
        self.assertFalse(error)
        note = self.env["mail.message"].search([("model", "=", "crm.lead"), ("res_id", "=", lead.id)], limit=1)
        self.assertRefused(self._rpc("mail.message", "write", [note.ids, {"mail_activity_type_id": call.id}]),
                           "marking it done")
        lead.invalidate_recordset()
        self.assertEqual(lead.call_attempt_count, 0)
        # a call logged through the call buttons is one
        lead.with_user(self.salesman).action_call_no_answer()
        lead.invalidate_recordset()
        self.assertEqual(lead.call_attempt_count, 1)

    def test_ids_of_the_wrong_type_get_a_message(self):
        lead = self._pv_lead()
        for value in ([self.pv_meeting.id], {"id": self.pv_meeting.id}, "3"):
            with self.subTest(value=value):
                self.assertRefused(self._write(lead, {"stage_id": value}), "the id of a record")
        self.assertEqual(self._place(lead)[1], self.pv_new)

    def test_transfer_offers_and_accepts_only_the_pipelines_stages(self):
        lead = self._pv_lead()
        self._write(lead, {"team_id": self.team_plain.id})
        shared = self.env["crm.stage"].search([("team_id", "=", False), ("is_won", "=", False)], limit=1)
        self.assertTrue(shared)
        wizard = self.env["crm.lead.transfer"].with_user(self.salesman).create({
            "lead_ids": [(6, 0, lead.ids)], "team_id": self.team_pv.id, "reason": "a household"})
        self.assertEqual(wizard.stage_id, self.pv_new, "PV's first stage by default")
        offered = self.env["crm.stage"].search([
            ("is_won", "=", False), ("team_id", "in", [self.team_pv.id] if wizard.team_own_stages_only
                                     else [self.team_pv.id, False])])
        self.assertNotIn(shared, offered, "PV uses its own stages only")
        wizard.stage_id = shared
        with self.assertRaisesRegex(UserError, "is not a stage of pipeline"):
            wizard.action_transfer()
        self.assertEqual(self._place(lead)[0], self.team_plain)
        # one entry in the gear menu
        bindings = self.env["ir.actions.actions"].with_user(self.salesman).get_bindings("crm.lead")["action"]
        self.assertEqual([b["name"] for b in bindings].count("Transfer to Another Pipeline"), 1)
