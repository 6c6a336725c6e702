import pytz

from odoo import models, tools


class ResourceCalendar(models.Model):
    # its working time (cached below) changes with it
    _name = "resource.calendar"
    _inherit = ["resource.calendar", "sales.process.cache.mixin"]

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
