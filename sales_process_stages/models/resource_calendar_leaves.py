from odoo import api, models


class ResourceCalendarLeaves(models.Model):
    _inherit = "resource.calendar.leaves"

    # the working time an SLA counts changes with the leaves of no one in particular (public holidays,
    # company closures): resource.calendar._get_sla_work_intervals caches it. An employee's time off
    # (a leave of a resource) leaves it as it is.

    @api.model_create_multi
    def create(self, vals_list):
        leaves = super().create(vals_list)
        leaves._sla_clear_cache()
        return leaves

    def write(self, vals):
        self._sla_clear_cache()
        res = super().write(vals)
        self._sla_clear_cache()
        return res

    def unlink(self):
        self._sla_clear_cache()
        return super().unlink()

    def _sla_clear_cache(self):
        if any(not leave.resource_id for leave in self):
            self.env.registry.clear_cache()
