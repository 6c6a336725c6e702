from odoo import fields, models, tools


class CrmStageConversionReport(models.Model):
    """Won/lost ratio per stage: of the leads that reached a stage, how many were won, how many lost.

    One row per lead and stage it reached (from the stage history), so that every regrouping
    (team, salesperson, month) keeps exact ratios: the win rate is the average of 0/100 per row.
    """

    _name = "crm.stage.conversion.report"
    _description = "Stage Conversion Analysis"
    _auto = False
    _rec_name = "stage_id"
    _order = "stage_id"
    # what the view reads: flushed before it is searched
    _depends = {
        "crm.lead": ["team_id", "user_id", "company_id", "active", "probability", "stage_id"],
        "crm.lead.stage.history": ["lead_id", "stage_id", "date_in"],
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
    won_count = fields.Integer("Won", readonly=True)
    lost_count = fields.Integer("Lost", readonly=True)
    win_rate = fields.Float(
        "Win Rate (%)", readonly=True, aggregator="avg",
        help="Of the leads that reached the stage, the share won so far.")
    loss_rate = fields.Float(
        "Loss Rate (%)", readonly=True, aggregator="avg",
        help="Of the leads that reached the stage, the share lost so far.")

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(f"""
            CREATE OR REPLACE VIEW {self._table} AS (
                SELECT MIN(history.id) AS id,
                       history.lead_id,
                       history.stage_id,
                       lead.team_id,
                       lead.user_id,
                       lead.company_id,
                       MIN(history.date_in) AS date_reached,
                       CASE WHEN lead.active AND stage.is_won THEN 'won'
                            WHEN NOT lead.active AND lead.probability = 0 THEN 'lost'
                            ELSE 'open' END AS outcome,
                       CASE WHEN lead.active AND stage.is_won THEN 1 ELSE 0 END AS won_count,
                       CASE WHEN NOT lead.active AND lead.probability = 0 THEN 1 ELSE 0 END AS lost_count,
                       CASE WHEN lead.active AND stage.is_won THEN 100.0 ELSE 0.0 END AS win_rate,
                       CASE WHEN NOT lead.active AND lead.probability = 0 THEN 100.0 ELSE 0.0 END AS loss_rate
                  FROM crm_lead_stage_history history
                  JOIN crm_lead lead ON lead.id = history.lead_id
             LEFT JOIN crm_stage stage ON stage.id = lead.stage_id
                 WHERE history.stage_id IS NOT NULL
              GROUP BY history.lead_id, history.stage_id, lead.team_id, lead.user_id, lead.company_id,
                       lead.active, lead.probability, stage.is_won
            )
        """)
