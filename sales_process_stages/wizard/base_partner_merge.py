"""Merging contacts (Odoo's merge wizard) moves the merged contacts' opportunities to the contact
kept, in SQL: its customer status follows (``res.partner._customer_status_update``)."""

from odoo import models


class BasePartnerMergeAutomaticWizard(models.TransientModel):
    _inherit = "base.partner.merge.automatic.wizard"

    def _merge(self, partner_ids, dst_partner=None, extra_checks=True):
        res = super()._merge(partner_ids, dst_partner=dst_partner, extra_checks=extra_checks)
        kept = self.env["res.partner"].browse(partner_ids).exists()
        self.env["res.partner"]._customer_status_update(kept.ids)
        return res
