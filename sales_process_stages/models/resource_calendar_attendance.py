from odoo import models


class ResourceCalendarAttendance(models.Model):
    # the working time an SLA counts changes with them (resource.calendar._get_sla_work_intervals)
    _name = "resource.calendar.attendance"
    _inherit = ["resource.calendar.attendance", "sales.process.cache.mixin"]
