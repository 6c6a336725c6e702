"""Stage history: one row per stay of a lead in a stage, on every path, rebuilt at install from
Odoo's stage tracking; readable as the leads are."""

from datetime import datetime, timedelta

from lxml import etree

from odoo.exceptions import AccessError
from odoo.tests.common import tagged, users

from odoo.addons.crm.tests.common import TestCrmCommon

T0 = datetime(2024, 6, 3, 9, 0)  # a Monday
HOUR = timedelta(hours=1)


@tagged("sales_process_stages", "stage_history")
class TestStageHistory(TestCrmCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.History = cls.env["crm.lead.stage.history"]
        # stage "Proposition" has a 2-hour SLA; the others have none
        cls.stage_team1_2.write({"sla_enabled": True, "sla_duration": 2, "sla_duration_unit": "hours"})

    def _create_lead(self, **values):
        return self.env["crm.lead"].create({
            "name": "History lead", "type": "opportunity", "team_id": self.sales_team_1.id,
            "stage_id": self.stage_team1_1.id, "user_id": self.user_sales_salesman.id, **values,
        })

    def _stays(self, lead):
        return self.History.search([("lead_id", "=", lead.id)], order="date_in, id")

    def assertStays(self, lead, expected):
        """:param expected: [(stage, date in, date out, entry, exit, SLA result)]"""
        stays = self._stays(lead)
        self.assertEqual(
            [(stay.stage_id, stay.date_in, stay.date_out, stay.entry_type, stay.exit_type, stay.sla_result)
             for stay in stays],
            expected)

    def test_create_move_won(self):
        with self.mock_datetime_and_now(T0):
            lead = self._create_lead()
        self.assertStays(lead, [(self.stage_team1_1, T0, False, "create", False, False)])
        stay = self._stays(lead)
        self.assertEqual((stay.team_id, stay.user_id, stay.company_id),
                         (self.sales_team_1, self.user_sales_salesman, lead.company_id))

        with self.mock_datetime_and_now(T0 + HOUR):
            lead.write({"stage_id": self.stage_team1_2.id})
        with self.mock_datetime_and_now(T0 + 4 * HOUR):
            lead.action_set_won()
        won_stage = lead.stage_id
        self.assertTrue(won_stage.is_won)
        self.assertStays(lead, [
            (self.stage_team1_1, T0, T0 + HOUR, "create", "move", False),
            (self.stage_team1_2, T0 + HOUR, T0 + 4 * HOUR, "move", "won", "missed"),
            (won_stage, T0 + 4 * HOUR, False, "move", False, False),
        ])
        stays = self._stays(lead)
        self.assertEqual(stays.mapped("duration_hours"), [1.0, 3.0, 0.0])
        self.assertEqual(stays[1].sla_deadline, T0 + 3 * HOUR)

    def test_the_list_reads_days_and_names_the_pipeline(self):
        """Days with one decimal, the current stay's days so far (not 0), the pipeline beside the stage."""
        with self.mock_datetime_and_now(T0):
            lead = self._create_lead()
        with self.mock_datetime_and_now(T0 + 36 * HOUR):
            lead.write({"stage_id": self.stage_team1_2.id})
        with self.mock_datetime_and_now(T0 + 48 * HOUR):
            first, current = self._stays(lead)
            self.assertEqual(first.stay_days, 1.5)
            self.assertEqual(current.stay_days, 0.5, "the current stay, so far")
        arch = etree.fromstring(self.History.get_views([(False, "list")])["views"]["list"]["arch"])
        names = [node.get("name") for node in arch.iter("field")]
        self.assertLess(names.index("team_id"), names.index("stage_id"), "the pipeline beside the stage")
        self.assertEqual(arch.xpath("//field[@name='team_id']")[0].get("string"), "Pipeline")
        self.assertFalse(arch.xpath("//field[@name='stay_days'][@widget]"), "days as a number, not hh:mm")
        self.assertFalse(arch.xpath("//field[@name='duration_hours'][@widget='float_time']"))
        digits = self.History.fields_get(["stay_days"])["stay_days"]["digits"]
        self.assertEqual(digits[1], 1, "one decimal")

    def test_sla_met(self):
        with self.mock_datetime_and_now(T0):
            lead = self._create_lead(stage_id=self.stage_team1_2.id)
        with self.mock_datetime_and_now(T0 + HOUR):
            lead.write({"stage_id": self.stage_team1_1.id})
        self.assertEqual(self._stays(lead)[0].sla_result, "met")

    def test_lost_and_restore(self):
        with self.mock_datetime_and_now(T0):
            lead = self._create_lead()
        with self.mock_datetime_and_now(T0 + HOUR):
            lead.action_set_lost(lost_reason_id=self.env["crm.lost.reason"].create({"name": "Price"}).id)
        self.assertStays(lead, [(self.stage_team1_1, T0, T0 + HOUR, "create", "lost", False)])
        with self.mock_datetime_and_now(T0 + 2 * HOUR):
            lead.action_unarchive()
        self.assertStays(lead, [
            (self.stage_team1_1, T0, T0 + HOUR, "create", "lost", False),
            (self.stage_team1_1, T0 + 2 * HOUR, False, "restore", False, False),
        ])
        # won straight from lost: restored, then won
        with self.mock_datetime_and_now(T0 + 3 * HOUR):
            lead.action_set_lost()
        with self.mock_datetime_and_now(T0 + 4 * HOUR):
            lead.action_set_won()
        stays = self._stays(lead)
        self.assertTrue(stays[-1].stage_id.is_won)
        self.assertEqual(stays[-1].stage_id, lead.stage_id)
        self.assertEqual(stays[-1].entry_type, "move")
        self.assertEqual(len(stays.filtered(lambda stay: not stay.date_out)), 1)

    def test_move_batch_and_unconfigured_pipeline(self):
        """Stays are written for every stage change, SLA or not, in batch."""
        with self.mock_datetime_and_now(T0):
            leads = self.env["crm.lead"].create([{
                "name": f"Batch {index}", "type": "opportunity", "team_id": self.sales_team_1.id,
                "stage_id": self.stage_gen_1.id,
            } for index in range(3)])
        with self.mock_datetime_and_now(T0 + HOUR):
            leads.write({"stage_id": self.stage_team1_1.id})
        for lead in leads:
            self.assertStays(lead, [
                (self.stage_gen_1, T0, T0 + HOUR, "create", "move", False),
                (self.stage_team1_1, T0 + HOUR, False, "move", False, False),
            ])
        # writing the same stage again changes nothing
        leads.write({"stage_id": self.stage_team1_1.id})
        self.assertEqual(len(self.History.search([("lead_id", "in", leads.ids)])), 6)

    def test_owner_change_follows_open_stay(self):
        with self.mock_datetime_and_now(T0):
            lead = self._create_lead()
            lead.write({"stage_id": self.stage_team1_2.id})
        lead.user_id = self.user_sales_leads
        stays = self._stays(lead)
        self.assertEqual(stays.mapped("user_id"), self.user_sales_salesman + self.user_sales_leads)

    def test_merge(self):
        """Merged leads' stays go to the surviving lead, as their messages do; their open stay ends."""
        with self.mock_datetime_and_now(T0):
            # the head is the lead furthest in the pipeline
            head = self._create_lead(name="Head", stage_id=self.stage_team1_2.id, probability=50)
            tail = self._create_lead(name="Tail", stage_id=self.stage_gen_1.id, probability=10)
        with self.mock_datetime_and_now(T0 + HOUR):
            tail.write({"stage_id": self.stage_team1_1.id})
        with self.mock_datetime_and_now(T0 + 2 * HOUR):
            merged = (head | tail)._merge_opportunity(auto_unlink=True, max_length=None)
        self.assertEqual(merged, head)
        self.assertFalse(tail.exists())
        stays = self._stays(head)
        self.assertEqual(len(stays), 3)
        from_tail = stays.filtered("merged_from")
        self.assertEqual(set(from_tail.mapped("merged_from")), {"Tail"})
        self.assertEqual(from_tail.mapped("stage_id"), self.stage_gen_1 + self.stage_team1_1)
        self.assertEqual(from_tail[-1].exit_type, "merge")
        self.assertEqual(from_tail[-1].date_out, T0 + 2 * HOUR)
        # the surviving lead's own stay goes on
        open_stay = stays.filtered(lambda stay: not stay.date_out)
        self.assertEqual(open_stay.stage_id, self.stage_team1_2)
        self.assertFalse(open_stay.merged_from)

    def test_rebuild_from_tracking(self):
        """The stays rebuilt from the chatter's stage tracking are those the hooks wrote."""
        Lead = self.env["crm.lead"].with_context(mail_notrack=False, tracking_disable=False)
        with self.mock_datetime_and_now(T0):
            moved = Lead.create({"name": "Moved", "type": "opportunity", "team_id": self.sales_team_1.id,
                                 "stage_id": self.stage_team1_1.id, "user_id": self.user_sales_salesman.id})
            lost = Lead.create({"name": "Lost", "type": "opportunity", "team_id": self.sales_team_1.id,
                                "stage_id": self.stage_team1_1.id})
            self.flush_tracking()
        with self.mock_datetime_and_now(T0 + HOUR):
            moved.write({"stage_id": self.stage_team1_2.id})
            lost.write({"stage_id": self.stage_team1_2.id})
            self.flush_tracking()
        with self.mock_datetime_and_now(T0 + 3 * HOUR):
            moved.action_set_won()
            lost.action_set_lost()
            self.flush_tracking()
        with self.mock_datetime_and_now(T0 + 5 * HOUR):
            untracked = self.env["crm.lead"].with_context(tracking_disable=True).create({
                "name": "Never tracked", "type": "opportunity", "team_id": self.sales_team_1.id,
                "stage_id": self.stage_gen_1.id})
            self.flush_tracking()

        leads = moved | lost | untracked
        live = {lead: [(s.stage_id, s.date_in, s.date_out, s.exit_type) for s in self._stays(lead)] for lead in leads}
        self.History.search([("lead_id", "in", leads.ids)]).unlink()
        with self.mock_datetime_and_now(T0 + 6 * HOUR):
            created = self.History._rebuild_from_tracking(leads.ids)
        self.assertEqual(created, 3 + 2 + 1)
        for lead in (moved, lost):
            rebuilt = [(s.stage_id, s.date_in, s.date_out, s.exit_type) for s in self._stays(lead)]
            self.assertEqual(rebuilt, live[lead])
        self.assertEqual(live[moved][-1], (moved.stage_id, T0 + 3 * HOUR, False, False))
        self.assertEqual(live[moved][-2][3], "won")
        self.assertEqual(live[lost][-1], (self.stage_team1_2, T0 + HOUR, T0 + 3 * HOUR, "lost"))
        stays = self._stays(moved)
        self.assertTrue(all(stays.mapped("is_rebuilt")))
        self.assertEqual(stays.mapped("duration_hours"), [1.0, 2.0, 0.0])
        self.assertEqual(stays.mapped("entry_type"), ["create", "move", "move"])
        # a lead without tracking: one open stay from its last stage change
        stay = self._stays(untracked)
        self.assertEqual((stay.stage_id, stay.date_in, stay.date_out, stay.entry_type),
                         (self.stage_gen_1, T0 + 5 * HOUR, False, "rebuild"))
        # again: leads with a history are left alone
        self.assertEqual(self.History._rebuild_from_tracking(leads.ids), 0)


@tagged("sales_process_stages", "stage_history")
class TestStageHistorySecurity(TestCrmCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Lead = cls.env["crm.lead"]
        cls.lead_own = Lead.create({"name": "Own", "type": "opportunity", "team_id": cls.sales_team_1.id,
                                    "stage_id": cls.stage_team1_1.id, "user_id": cls.user_sales_salesman.id})
        cls.lead_other = Lead.create({"name": "Other", "type": "opportunity", "team_id": cls.sales_team_1.id,
                                      "stage_id": cls.stage_team1_1.id, "user_id": cls.user_sales_leads.id})
        cls.lead_own_lost = Lead.create({"name": "Own lost", "type": "opportunity", "team_id": cls.sales_team_1.id,
                                         "stage_id": cls.stage_team1_1.id, "user_id": cls.user_sales_salesman.id})
        cls.lead_own_lost.action_set_lost()
        cls.company_2 = cls.env["res.company"].create({"name": "Other Company"})
        cls.lead_company_2 = Lead.create({"name": "Company 2", "type": "opportunity", "company_id": cls.company_2.id,
                                          "stage_id": cls.stage_gen_1.id, "user_id": False, "team_id": False})

    @users("user_sales_salesman")
    def test_salesman_reads_own_leads(self):
        History = self.env["crm.lead.stage.history"]
        visible = History.search([]).lead_id
        self.assertIn(self.lead_own, visible)
        self.assertIn(self.lead_own_lost, visible)
        self.assertNotIn(self.lead_other, visible)
        self.assertNotIn(self.lead_company_2, visible)
        stay = History.search([("lead_id", "=", self.lead_own.id)])
        with self.assertRaises(AccessError):
            stay.write({"date_out": T0})
        with self.assertRaises(AccessError):
            History.create({"lead_id": self.lead_own.id, "date_in": T0})
        with self.assertRaises(AccessError):
            stay.unlink()
        # reading through the lead works too
        self.assertTrue(self.lead_own.with_user(self.env.user).stage_history_ids)

    @users("user_sales_salesman")
    def test_form_history_button(self):
        """The form shows the days in stage on a button opening the lead's stays, which the form
        itself does not read (opening a lead stays as cheap as in plain Odoo)."""
        lead = self.lead_own.with_user(self.env.user)
        arch = lead.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn('name="action_view_stage_history"', arch)
        self.assertNotIn('name="stage_history_ids"', arch)
        action = lead.action_view_stage_history()
        self.assertEqual(action["res_model"], "crm.lead.stage.history")
        stays = self.env["crm.lead.stage.history"].search(action["domain"])
        self.assertEqual(stays.lead_id, lead)
        self.assertEqual(stays.stage_id, self.stage_team1_1)
        self.assertIn("Own", action["name"])

    @users("user_sales_leads")
    def test_all_leads_reads_all(self):
        visible = self.env["crm.lead.stage.history"].search([]).lead_id
        self.assertLessEqual(self.lead_own | self.lead_other | self.lead_own_lost, visible)
        self.assertNotIn(self.lead_company_2, visible)

    @users("user_sales_manager")
    def test_manager_reads_all(self):
        visible = self.env["crm.lead.stage.history"].search([]).lead_id
        self.assertLessEqual(self.lead_own | self.lead_other | self.lead_own_lost, visible)
