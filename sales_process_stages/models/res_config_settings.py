"""CRM settings of the customer status: how many won opportunities in how many months make a
regular customer (system parameters, checked by ``ir.config_parameter``)."""

from odoo import api, fields, models

from ..tools.customer_status import REGULAR_COUNT_PARAM, REGULAR_MONTHS_PARAM, THRESHOLDS


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    customer_regular_count = fields.Integer(
        "Won Opportunities of a Regular Customer", config_parameter=REGULAR_COUNT_PARAM,
        default=THRESHOLDS[REGULAR_COUNT_PARAM][0],
        help="A customer who won at least this many opportunities in the last months is a regular customer; "
        "fewer, a new customer; none in them, a lapsed customer.")
    customer_regular_months = fields.Integer(
        "Months Counted for Regular Customers", config_parameter=REGULAR_MONTHS_PARAM,
        default=THRESHOLDS[REGULAR_MONTHS_PARAM][0],
        help="The last months in which a customer's won opportunities are counted: a customer with none in them "
        "is a lapsed customer.")

    @api.constrains("customer_regular_count", "customer_regular_months")
    def _check_customer_status_thresholds(self):
        # zero is refused here: the settings would store it as no value (the default)
        Param = self.env["ir.config_parameter"]
        for settings in self:
            Param._check_customer_status_threshold(REGULAR_COUNT_PARAM, settings.customer_regular_count)
            Param._check_customer_status_threshold(REGULAR_MONTHS_PARAM, settings.customer_regular_months)

    @api.model
    def get_values(self):
        """The thresholds in use (a value written around the checks counts as the default)."""
        res = super().get_values()
        __, count, months = self.env["res.partner"]._customer_status_settings()
        res.update(customer_regular_count=count, customer_regular_months=months)
        return res
