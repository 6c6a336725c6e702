import pytz

from odoo import api, models, tools


class ResourceCalendar(models.Model):
    _inherit = "resource.calendar"

    @tools.ormcache("self.id", "start", "stop")
    def _get_sla_work_intervals(self, start, stop):
        """Work intervals of the calendar between ``start`` and ``stop`` (naive UTC), its leaves
        excluded, as sorted (start, stop) naive UTC pairs: what an SLA counts in working time.

        Cached until a calendar, an attendance or a leave of no one in particular changes:
        a lead moved on the kanban plans its deadline without recomputing four weeks of
        attendances."""
        self.ensure_one()
        intervals = self.sudo().with_context(employee_timezone=False)._work_intervals_batch(
            pytz.utc.localize(start), pytz.utc.localize(stop), compute_leaves=True)[False]
        return tuple(
            (begin.astimezone(pytz.utc).replace(tzinfo=None), end.astimezone(pytz.utc).replace(tzinfo=None))
            for begin, end, __ in intervals
            if end > begin
        )

    @api.model_create_multi
    def create(self, vals_list):
        calendars = super().create(vals_list)
        self.env.registry.clear_cache()
        return calendars

    def write(self, vals):
        res = super().write(vals)
        self.env.registry.clear_cache()
        return res

    def unlink(self):
        res = super().unlink()
        self.env.registry.clear_cache()
        return res
