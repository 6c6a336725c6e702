"""The manager's pipeline dashboard (CRM > Reporting > Sales Process): one card per pipeline with
its open leads on track, due soon and overdue, and the forced moves and holds of the last days.

The counts come from ``_read_group`` on the leads and on the stage history, for all the cards at
once (a query per measure, whatever the number of pipelines and leads), with the user's record
rules. Each count opens the leads (or the stays) behind it; the views per stage and salesperson
and the funnel are Odoo's pivot and graph views on the leads and on the stage conversion report.
"""

from datetime import timedelta

from odoo import _, api, fields, models

# the dashboard's period: the forced moves and holds of the last days
DASHBOARD_PERIOD_DAYS = 30
DASHBOARD_SLA_STATES = ("on_track", "due_soon", "overdue")


class CrmTeam(models.Model):
    _inherit = "crm.team"

    sales_process_on_track_count = fields.Integer("On Track", compute="_compute_sales_process_dashboard")
    sales_process_due_soon_count = fields.Integer("Due Soon", compute="_compute_sales_process_dashboard")
    sales_process_overdue_count = fields.Integer("Overdue", compute="_compute_sales_process_dashboard")
    sales_process_forced_count = fields.Integer(
        "Forced Moves", compute="_compute_sales_process_dashboard",
        help="Stage moves a sales manager forced past the process rules in the last 30 days.")
    sales_process_hold_count = fields.Integer(
        "Holds", compute="_compute_sales_process_dashboard",
        help="Stays in a stage put on hold, current ones or ended in the last 30 days.")

    @api.model
    def _get_sales_process_period_start(self):
        return fields.Datetime.now() - timedelta(days=DASHBOARD_PERIOD_DAYS)

    @api.depends_context("uid", "allowed_company_ids")
    def _compute_sales_process_dashboard(self):
        """Three ``_read_group`` for all the cards: the leads by pipeline and SLA status, the
        forced stays and the stays on hold by pipeline (the user's rules apply)."""
        teams = self.filtered("id")
        by_state, forced, holds = {}, {}, {}
        if teams:
            since = self._get_sales_process_period_start()
            by_state = {
                (team.id, state): count for team, state, count in self.env["crm.lead"]._read_group(
                    [("team_id", "in", teams.ids), ("sla_state", "in", DASHBOARD_SLA_STATES)],
                    ["team_id", "sla_state"], ["__count"])
            }
            History = self.env["crm.lead.stage.history"]
            forced = dict(History._read_group(
                [("team_id", "in", teams.ids), ("is_forced", "=", True), ("date_in", ">=", since)],
                ["team_id"], ["__count"]))
            holds = dict(History._read_group(
                [("team_id", "in", teams.ids), ("hold_count", ">", 0),
                 "|", ("date_out", "=", False), ("date_out", ">=", since)],
                ["team_id"], ["__count"]))
        for team in self:
            team.sales_process_on_track_count = by_state.get((team.id, "on_track"), 0)
            team.sales_process_due_soon_count = by_state.get((team.id, "due_soon"), 0)
            team.sales_process_overdue_count = by_state.get((team.id, "overdue"), 0)
            team.sales_process_forced_count = forced.get(team, 0)
            team.sales_process_hold_count = holds.get(team, 0)

    # ------------------------------------------------------------
    # ACTIONS: each count opens what it counts
    # ------------------------------------------------------------

    def _get_sales_process_action(self, xmlid, name, context=None):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(xmlid)
        action["display_name"] = _("%(pipeline)s: %(what)s", pipeline=self.name, what=name)
        action["context"] = {"search_default_team_id": self.id, **(context or {})}
        return action

    def action_sales_process_open_on_track(self):
        return self._get_sales_process_action(
            "sales_process_stages.crm_lead_action_sales_process", _("On Track"), {"search_default_sla_on_track": 1})

    def action_sales_process_open_due_soon(self):
        return self._get_sales_process_action(
            "sales_process_stages.crm_lead_action_sales_process", _("Due Soon"), {"search_default_sla_due_soon": 1})

    def action_sales_process_open_overdue(self):
        return self._get_sales_process_action(
            "sales_process_stages.crm_lead_action_sales_process", _("Overdue"), {"search_default_sla_overdue": 1})

    def action_sales_process_open_stages(self):
        """The open leads per stage and salesperson, by SLA status (pivot, graph)."""
        return self._get_sales_process_action(
            "sales_process_stages.crm_lead_action_sales_process_stages", _("SLA by Stage and Salesperson"))

    def action_sales_process_open_funnel(self):
        """The funnel: leads that reached each stage, won, lost, days spent in each."""
        return self._get_sales_process_action(
            "sales_process_stages.crm_stage_conversion_report_action", _("Funnel"))

    def action_sales_process_open_forced(self):
        return self._get_sales_process_action(
            "sales_process_stages.crm_lead_stage_history_action_sales_process", _("Forced Moves"),
            {"search_default_forced": 1, "search_default_last_period": 1})

    def action_sales_process_open_holds(self):
        return self._get_sales_process_action(
            "sales_process_stages.crm_lead_stage_history_action_sales_process", _("Holds"),
            {"search_default_on_hold": 1, "search_default_running_in_period": 1})
