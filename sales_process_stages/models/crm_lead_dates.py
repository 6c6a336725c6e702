"""The closing dates of a lead, bounded where they are entered (``tools/bounds.py``): crm's
Closed Date (``date_closed``: the won date the customer status counts from) and Expected
Closing (``date_deadline``), from 1900-01-01 to 100 years from today. A date out of them (year
9999) would make the customer's status fail to compute, and every later win of that customer."""

from odoo import api, fields, models

from ..tools import bounds


class CrmLead(models.Model):
    _inherit = "crm.lead"

    @api.constrains("date_closed", "date_deadline")
    def _check_closing_dates(self):
        lowest, highest = bounds.closing_date_range(fields.Date.context_today(self))
        labels = {}
        for lead in self:
            for name in ("date_closed", "date_deadline"):
                if lead[name]:
                    if name not in labels:
                        labels[name] = self._fields[name]._description_string(self.env)
                    bounds.check_date(self.env, lead[name], labels[name], lowest, highest)
