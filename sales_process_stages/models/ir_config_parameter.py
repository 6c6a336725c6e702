"""The customer status thresholds (CRM settings) are system parameters: a value that is no whole
number in its range is refused however it is written (the settings, the technical menu, RPC), and
a change brings every contact's status up to date (the sweep, at once, in the background)."""

from odoo import _, api, models
from odoo.exceptions import ValidationError

from ..tools.customer_status import REGULAR_COUNT_PARAM, THRESHOLDS, parse_threshold


class IrConfigParameter(models.Model):
    _inherit = "ir.config_parameter"

    @api.constrains("key", "value")
    def _check_customer_status_thresholds(self):
        for param in self:
            if param.key in THRESHOLDS:
                self._check_customer_status_threshold(param.key, param.value)

    @api.model
    def _check_customer_status_threshold(self, key, value):
        """Refuse ``value`` for the threshold ``key`` unless it is a whole number in its range."""
        if parse_threshold(key, value) is not None:
            return
        __, lowest, highest = THRESHOLDS[key]
        if key == REGULAR_COUNT_PARAM:
            raise ValidationError(_(
                "The number of won opportunities that makes a regular customer must be a whole number from "
                "%(lowest)s to %(highest)s, not “%(value)s”.", lowest=lowest, highest=highest, value=value))
        raise ValidationError(_(
            "The period in which a regular customer wins them must be a whole number of months from "
            "%(lowest)s to %(highest)s, not “%(value)s”.", lowest=lowest, highest=highest, value=value))

    @api.model_create_multi
    def create(self, vals_list):
        params = super().create(vals_list)
        if params._is_customer_status_threshold():
            self.env["res.partner"]._customer_status_update_later()
        return params

    def write(self, vals):
        before = self._is_customer_status_threshold()
        res = super().write(vals)
        if before or self._is_customer_status_threshold():
            self.env["res.partner"]._customer_status_update_later()
        return res

    def unlink(self):
        threshold = self._is_customer_status_threshold()
        res = super().unlink()
        if threshold:  # back to the default
            self.env["res.partner"]._customer_status_update_later()
        return res

    def _is_customer_status_threshold(self):
        return any(param.key in THRESHOLDS for param in self)
