"""The manager's pipeline dashboard (issue #14): CRM > Reporting > Sales Process."""
from datetime import timedelta

from dateutil.relativedelta import relativedelta
from lxml import etree

from odoo import fields
from odoo.tests import HttpCase, tagged
from odoo.tools.safe_eval import datetime as safe_datetime
from odoo.tools.safe_eval import safe_eval

from .common import TestSalesProcessCommon


class DashboardCommon(TestSalesProcessCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stage_new.write({"sla_enabled": True, "sla_duration": 3, "sla_duration_unit": "days"})
        cls.stage_offer.write({"sla_enabled": True, "sla_duration": 5, "sla_duration_unit": "days"})

    def _filter_domain(self, action_xmlid, filter_name):
        """The domain of a filter of the action's search view, as the web client evaluates it."""
        action = self.env.ref(action_xmlid)
        view = action.search_view_id or self.env["ir.ui.view"].search(
            [("model", "=", action.res_model), ("type", "=", "search"), ("mode", "=", "primary")], limit=1)
        arch = etree.fromstring(self.env[action.res_model].get_views([(view.id, "search")])["views"]["search"]["arch"])
        node = arch.xpath(f"//filter[@name='{filter_name}']")
        self.assertTrue(node, f"no filter {filter_name} in the search view of {action_xmlid}")
        return safe_eval(node[0].get("domain"), {
            "context_today": lambda: fields.Date.context_today(self.env["crm.lead"]),
            "relativedelta": relativedelta, "datetime": safe_datetime, "uid": self.env.uid})

    def _opened(self, team, method):
        """What a count of the card opens: the records its action and default filters show."""
        action = getattr(team, method)()
        model = self.env[action["res_model"]]
        team_id = action["context"]["search_default_team_id"]
        domain = list(safe_eval(action.get("domain") or "[]")) + [("team_id", "=", team_id)]
        xmlid = action["xml_id"]
        for key, value in action["context"].items():
            if key.startswith("search_default_") and key != "search_default_team_id" and value:
                domain += self._filter_domain(xmlid, key.removeprefix("search_default_"))
        return model.search(domain)


@tagged("post_install", "-at_install")
class TestSalesProcessDashboard(DashboardCommon):

    def test_card_counts_and_what_they_open(self):
        """Per pipeline: its open leads on track, due soon and overdue; the forced moves and holds of
        the last 30 days. Each count opens exactly the records it counts."""
        on_track = self._new_leads(2)
        due_soon, overdue, held, forced = self._new_leads(4)
        due_soon.sudo().write({"sla_state": "due_soon"})
        overdue.sudo().write({"sla_state": "overdue"})
        held.with_user(self.user_sales_salesman).write(
            {"sla_hold_until": self._today(5), "sla_hold_reason": "Customer on vacation"})
        forced.write({"expected_revenue": 1000, "partner_id": self.customer.id})
        forced.with_user(self.user_sales_manager)._force_stage_move(self.stage_offer, "Signed on the spot")
        self.assertEqual(forced.stage_id, self.stage_offer)
        # a lead of another pipeline, a won one and a lost one: not counted
        self._create_opportunity().sudo().write({"sla_state": "overdue"})
        lost = self._new_leads()
        lost.sudo().write({"sla_state": "overdue"})
        lost.action_archive()

        team = self.team_process.with_user(self.user_sales_manager)
        self.assertEqual(
            (team.sales_process_on_track_count, team.sales_process_due_soon_count,
             team.sales_process_overdue_count, team.sales_process_forced_count, team.sales_process_hold_count),
            (3, 1, 1, 1, 1), "on track: two new leads and the forced one in its new stage")
        self.assertEqual(self._opened(team, "action_sales_process_open_on_track"), on_track | forced)
        self.assertEqual(self._opened(team, "action_sales_process_open_due_soon"), due_soon)
        self.assertEqual(self._opened(team, "action_sales_process_open_overdue"), overdue)
        forced_stays = self._opened(team, "action_sales_process_open_forced")
        self.assertEqual((forced_stays.lead_id, forced_stays.stage_id), (forced, self.stage_offer))
        self.assertEqual(forced_stays.force_reason, "Signed on the spot")
        self.assertEqual(self._opened(team, "action_sales_process_open_holds").lead_id, held)
        # by stage and salesperson: the open leads with an SLA
        self.assertEqual(self._opened(team, "action_sales_process_open_stages"), on_track | forced | due_soon | overdue)
        self.assertEqual(team.action_sales_process_open_funnel()["res_model"], "crm.stage.conversion.report")

    def test_period(self):
        """Forced moves entered and holds ended over 30 days ago are not the period's."""
        held, forced = self._new_leads(2)
        forced.write({"expected_revenue": 1000, "partner_id": self.customer.id})
        forced.with_user(self.user_sales_manager)._force_stage_move(self.stage_offer, "Old news")
        held.write({"sla_hold_until": self._today(5), "sla_hold_reason": "Vacation"})
        self.assertEqual(self.team_process.sales_process_forced_count, 1)
        self.assertEqual(self.team_process.sales_process_hold_count, 1)
        long_ago = fields.Datetime.now() - timedelta(days=40)
        self.env["crm.lead.stage.history"].flush_model()
        # the addon's own table: the stays dated back
        self.env.cr.execute("""
            UPDATE crm_lead_stage_history SET date_in = %(long_ago)s,
                   date_out = CASE WHEN hold_count > 0 THEN %(long_ago)s END
             WHERE lead_id IN %(leads)s AND (is_forced OR hold_count > 0)
        """, {"long_ago": long_ago, "leads": tuple((held | forced).ids)})
        self.env.invalidate_all()
        team = self.env["crm.team"].browse(self.team_process.id)
        self.assertEqual((team.sales_process_forced_count, team.sales_process_hold_count), (0, 0))

    def test_salesman_counts_only_what_he_may_read(self):
        """The counts are the user's read_group: a salesman's own leads, never another's."""
        self._new_leads(2)
        self._new_leads(3, user=self.user_sales_leads)
        team = self.team_process.with_user(self.user_sales_salesman)
        self.assertEqual(team.sales_process_on_track_count, 2)
        self.assertEqual(self.team_process.with_user(self.user_sales_leads).sales_process_on_track_count, 5)

    def test_queries_do_not_grow_with_pipelines(self):
        """Three queries for all the cards, whatever the number of pipelines and leads."""
        teams = self.team_process | self.team_plain | self.env["crm.team"].create({"name": "Third pipeline"})
        self._new_leads(3)

        def read(records):
            return lambda: records.with_user(self.user_sales_manager).read(
                ["sales_process_on_track_count", "sales_process_forced_count"])
        read(teams)()  # the user's rules and access rights cached, as in a running server
        one = self._queries(read(self.team_process))
        self._new_leads(20)
        self.assertEqual(self._queries(read(teams)), one)
        self.assertLessEqual(one, 5)

    def test_funnel_days_in_stage(self):
        """The funnel: per stage, the leads that reached it, won and lost, and the days they spent in
        it, average and median (not an average of averages), its total a true median too."""
        leads = self._new_leads(3)
        for lead in leads:
            lead.write({"expected_revenue": 1000, "partner_id": self.customer.id})
        self._complete(leads, self.stage_new)
        leads.write({"stage_id": self.stage_offer.id})
        History = self.env["crm.lead.stage.history"]
        History.flush_model()
        now = fields.Datetime.now()
        # the stays in New took 1, 2 and 6 days; in Offer, 4 days so far for each
        for lead, days in zip(leads, (1, 2, 6), strict=True):
            self.env.cr.execute("""
                UPDATE crm_lead_stage_history
                   SET date_in = CASE WHEN date_out IS NULL THEN %(offer_in)s ELSE %(new_in)s END,
                       date_out = CASE WHEN date_out IS NULL THEN NULL ELSE %(offer_in)s END
                 WHERE lead_id = %(lead)s
            """, {"lead": lead.id, "offer_in": now - timedelta(days=4),
                  "new_in": now - timedelta(days=4 + days)})
        self.env.invalidate_all()
        Report = self.env["crm.stage.conversion.report"].with_user(self.user_sales_manager)
        rows = Report._read_group(
            [("team_id", "=", self.team_process.id)], ["stage_id"],
            ["reached_count:sum", "days_in_stage:avg", "days_in_stage_median:median"])
        figures = {stage: (reached, round(avg, 2), round(median, 2)) for stage, reached, avg, median in rows}
        self.assertEqual(figures[self.stage_new], (3, 3.0, 2.0))
        self.assertEqual(figures[self.stage_offer], (3, 4.0, 4.0))
        [(reached, median)] = Report._read_group(
            [("team_id", "=", self.team_process.id)], [], ["reached_count:sum", "days_in_stage_median:median"])
        self.assertEqual((reached, round(median, 2)), (3, 4.0), "the median of the six stays, leads once")
        # the pivot's measures and a row opening its lead
        pivot = etree.fromstring(Report.get_views([(False, "pivot")])["views"]["pivot"]["arch"])
        self.assertTrue({"days_in_stage", "days_in_stage_median", "reached_count", "won_count"}
                        <= {node.get("name") for node in pivot.xpath("//field[@type='measure']")})
        row = Report.search([("lead_id", "=", leads[0].id), ("stage_id", "=", self.stage_new.id)])
        self.assertEqual(row.action_open_lead()["res_id"], leads[0].id)


@tagged("post_install", "-at_install")
class TestSalesProcessDashboardTour(DashboardCommon, HttpCase):

    def test_dashboard_tour(self):
        """A manager opens CRM > Reporting > Sales Process, reads the pipeline's card, opens its
        overdue leads, then its funnel."""
        self.team_process.name = "Dashboard tour pipeline"
        self.user_sales_manager.write({"groups_id": [(4, self.env.ref("sales_team.group_sale_manager").id)],
                                       "tour_enabled": False})
        lead_a, lead_b = self._new_leads(2)
        lead_a.name = "Dashboard tour overdue lead"
        lead_a.sudo().write({"sla_state": "overdue"})
        lead_b.name = "Dashboard tour lead on track"
        self.start_tour("/odoo", "sales_process_stages_dashboard", login=self.user_sales_manager.login, timeout=120)
