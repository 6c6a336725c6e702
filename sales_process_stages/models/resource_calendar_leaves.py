from odoo import models


class ResourceCalendarLeaves(models.Model):
    _name = "resource.calendar.leaves"
    _inherit = ["resource.calendar.leaves", "sales.process.cache.mixin"]

    def _sales_process_cache_names(self, vals=None):
        """The working time an SLA counts changes with the leaves of no one in particular (public
        holidays, company closures): resource.calendar._get_sla_work_intervals caches it. An
        employee's time off (a leave of a resource) leaves it as it is."""
        return ("default",) if any(not leave.resource_id for leave in self) else ()
