from odoo import _, api, fields, models, tools
from odoo.tools import SQL

from ..tools import read_group

# measure: the SQL it stands for in any group (leads counted once, however many stages they reached)
LEAD_MEASURES = {
    "reached_count": "COUNT(DISTINCT %(lead)s)",
    "won_count": "COUNT(DISTINCT %(lead)s) FILTER (WHERE %(won)s = 1)",
    "lost_count": "COUNT(DISTINCT %(lead)s) FILTER (WHERE %(lost)s = 1)",
    "win_rate": "100.0 * COUNT(DISTINCT %(lead)s) FILTER (WHERE %(won)s = 1) / NULLIF(COUNT(DISTINCT %(lead)s), 0)",
    "loss_rate": "100.0 * COUNT(DISTINCT %(lead)s) FILTER (WHERE %(lost)s = 1) / NULLIF(COUNT(DISTINCT %(lead)s), 0)",
}


class CrmStageConversionReport(models.Model):
    """Won/lost ratio per stage: of the leads that reached a stage, how many were won, how many lost.

    One row per lead and stage it reached (from the stage history). The measures count leads, once
    each, in any group (``_read_group_select``): a pipeline's won deals are its won leads, not the
    sum of the stages they went through, and a rate is won (or lost) leads over leads reached, in
    a stage's row as in a pipeline's total. Nothing that cannot be summed is summed.
    """

    _name = "crm.stage.conversion.report"
    _description = "Stage Conversion Analysis"
    _auto = False
    _rec_name = "stage_id"
    _order = "stage_id"
    # what the view reads: flushed before it is searched
    _depends = {
        "crm.lead": ["team_id", "user_id", "company_id", "active", "probability", "stage_id"],
        "crm.lead.stage.history": ["lead_id", "stage_id", "date_in", "date_out"],
        "crm.stage": ["is_won"],
    }

    lead_id = fields.Many2one("crm.lead", readonly=True)
    stage_id = fields.Many2one("crm.stage", string="Stage Reached", readonly=True)
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    date_reached = fields.Datetime("First Reached", readonly=True)
    outcome = fields.Selection(
        [("open", "Open"), ("won", "Won"), ("lost", "Lost")], readonly=True)
    reached_count = fields.Integer("Reached", readonly=True, help="Leads that reached the stage.")
    won_count = fields.Integer("Won", readonly=True, help="Of the leads that reached the stage, those won.")
    lost_count = fields.Integer("Lost", readonly=True, help="Of the leads that reached the stage, those lost.")
    win_rate = fields.Float(
        "Win Rate (%)", readonly=True, aggregator="avg",
        help="Of the leads that reached the stage, the share won so far.")
    loss_rate = fields.Float(
        "Loss Rate (%)", readonly=True, aggregator="avg",
        help="Of the leads that reached the stage, the share lost so far.")
    # the time spent in the stage (all the lead's stays in it; the current one until now): the
    # cycle length, stage by stage
    days_in_stage = fields.Float(
        "Days in Stage (Average)", readonly=True, aggregator="avg", digits=(16, 1),
        help="Average days the leads spent in the stage, all their stays in it counted, the current one until now.")
    days_in_stage_median = fields.Float(
        "Days in Stage (Median)", readonly=True, aggregator="median", digits=(16, 1),
        help="Median days the leads spent in the stage: half of them spent less, half more.")

    def _read_group_select(self, aggregate_spec, query):
        """The measures count each lead once in the group (see the class)."""
        fname = aggregate_spec.split(":")[0]
        if fname in LEAD_MEASURES and aggregate_spec != "__count":
            columns = {name: self._field_to_sql(self._table, name, query)
                       for name in ("lead_id", "won_count", "lost_count")}
            return SQL(LEAD_MEASURES[fname], lead=columns["lead_id"], won=columns["won_count"],
                       lost=columns["lost_count"])
        return read_group.median_select(self, aggregate_spec, query) or super()._read_group_select(
            aggregate_spec, query)

    @api.model
    def action_open(self):
        """Stage Conversion opens on one pipeline (the user's, else the first one with stages of
        its own), its stages as rows in stage order."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sales_process_stages.crm_stage_conversion_report_action")
        team = self.env.user.sale_team_id or self.env["crm.team"].search(
            [("id", "in", self.env["crm.stage"].search([("team_id", "!=", False)]).team_id.ids)], limit=1)
        if team:
            action["context"] = {"search_default_team_id": team.id}
            action["display_name"] = _("Stage Conversion: %(team)s", team=team.name)
        return action

    def action_open_lead(self):
        """A row of the report opens its lead."""
        self.ensure_one()
        return self.lead_id._get_records_action(name=_("Lead"))

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(f"""
            CREATE OR REPLACE VIEW {self._table} AS (
                SELECT MIN(history.id) AS id,
                       lead.id AS lead_id,
                       history.stage_id,
                       lead.team_id,
                       lead.user_id,
                       lead.company_id,
                       MIN(history.date_in) AS date_reached,
                       CASE WHEN lead.active AND stage.is_won THEN 'won'
                            WHEN NOT lead.active AND lead.probability = 0 THEN 'lost'
                            ELSE 'open' END AS outcome,
                       1 AS reached_count,
                       CASE WHEN lead.active AND stage.is_won THEN 1 ELSE 0 END AS won_count,
                       CASE WHEN NOT lead.active AND lead.probability = 0 THEN 1 ELSE 0 END AS lost_count,
                       CASE WHEN lead.active AND stage.is_won THEN 100.0 ELSE 0.0 END AS win_rate,
                       CASE WHEN NOT lead.active AND lead.probability = 0 THEN 100.0 ELSE 0.0 END AS loss_rate,
                       SUM(GREATEST(EXTRACT(EPOCH FROM COALESCE(history.date_out, NOW() AT TIME ZONE 'UTC')
                                                       - history.date_in), 0)) / 86400.0 AS days_in_stage,
                       SUM(GREATEST(EXTRACT(EPOCH FROM COALESCE(history.date_out, NOW() AT TIME ZONE 'UTC')
                                                       - history.date_in), 0)) / 86400.0 AS days_in_stage_median
                  FROM crm_lead_stage_history history
                  JOIN crm_lead lead ON lead.id = history.lead_id
             LEFT JOIN crm_stage stage ON stage.id = lead.stage_id
                 WHERE history.stage_id IS NOT NULL
              -- the lead's and its stage's columns hang on their primary keys: a narrow group key,
              -- which a filter on the pipeline or the salesperson still narrows before grouping
              GROUP BY lead.id, history.stage_id, lead.team_id, lead.user_id, stage.id
            )
        """)
