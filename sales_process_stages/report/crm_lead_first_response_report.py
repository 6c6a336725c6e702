from odoo import fields, models, tools
from odoo.tools import SQL

from ..tools import read_group


class CrmLeadFirstResponseReport(models.Model):
    """Speed to lead: how fast leads got their first response, and the share within the SLA of
    the stage they were created in.

    One row per lead with a first response. Odoo's read_group has no median: the measure
    ``first_response_hours`` declares the aggregator ``median``, which this model computes in SQL
    (``PERCENTILE_CONT(0.5)``) over the rows of each group the pivot or the graph asks for, totals
    included: a true median whatever the grouping (never a median of medians, nor an average).
    The share within SLA is the average of 0/100 per lead whose first stage has an SLA (NULL,
    left out of the average, for the others).
    """

    _name = "crm.lead.first.response.report"
    _description = "First Response Analysis"
    _auto = False
    _rec_name = "lead_id"
    _order = "create_date desc, id desc"
    # what the view reads: flushed before it is searched
    _depends = {
        "crm.lead": ["create_date", "user_id", "team_id", "source_id", "medium_id", "campaign_id", "company_id",
                     "type", "stage_id", "first_response_date", "first_response_hours",
                     "first_response_sla_hours", "first_response_within_sla"],
    }

    lead_id = fields.Many2one("crm.lead", readonly=True)
    create_date = fields.Datetime("Created On", readonly=True)
    first_response_date = fields.Datetime("First Response", readonly=True)
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)
    source_id = fields.Many2one("utm.source", readonly=True)
    medium_id = fields.Many2one("utm.medium", readonly=True)
    campaign_id = fields.Many2one("utm.campaign", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    stage_id = fields.Many2one("crm.stage", readonly=True)
    type = fields.Selection([("lead", "Lead"), ("opportunity", "Opportunity")], readonly=True)
    first_response_hours = fields.Float(
        "First Response Time (Median)", readonly=True, aggregator="median",
        help="Median time from creation to the first response (hours), counted as the SLA of the stage the "
        "lead was created in counts.")
    first_response_minutes = fields.Float(
        "First Response (Minutes, Median)", readonly=True, aggregator="median", digits=(16, 0),
        help="The median first response time in minutes: what a first-contact SLA of minutes reads.")
    within_sla_rate = fields.Float(
        "Within SLA (%)", readonly=True, aggregator="avg",
        help="Of the leads created in a stage with an SLA, the share whose first response came within it.")

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(SQL("""
            CREATE OR REPLACE VIEW %s AS (
                SELECT lead.id,
                       lead.id AS lead_id,
                       lead.create_date,
                       lead.first_response_date,
                       lead.user_id,
                       lead.team_id,
                       lead.source_id,
                       lead.medium_id,
                       lead.campaign_id,
                       lead.company_id,
                       lead.stage_id,
                       lead.type,
                       lead.first_response_hours,
                       lead.first_response_hours * 60 AS first_response_minutes,
                       CASE WHEN lead.first_response_sla_hours > 0
                            THEN CASE WHEN lead.first_response_within_sla THEN 100.0 ELSE 0.0 END
                       END AS within_sla_rate
                  FROM crm_lead lead
                 WHERE lead.first_response_date IS NOT NULL
            )
        """, SQL.identifier(self._table)))

    def _read_group_select(self, aggregate_spec, query):
        """The ``median`` aggregator: the median of the group's rows, computed by PostgreSQL."""
        return read_group.median_select(self, aggregate_spec, query) or super()._read_group_select(
            aggregate_spec, query)
