from odoo import api, models


class SalesProcessCacheMixin(models.AbstractModel):
    """Records the sales process's cached values are computed from (the rules of
    ``crm.stage._get_process_rules``, the working time of ``resource.calendar._get_sla_work_intervals``):
    creating, changing or deleting them clears the registry's caches."""

    _name = "sales.process.cache.mixin"
    _description = "Sales Process Cache Source"

    def _sales_process_cache_changed(self, vals=None):
        """Whether creating, deleting (``vals`` None) or writing ``vals`` on these records changes
        a cached value: yes, unless a model says which of its records or fields matter."""
        return True

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        if records._sales_process_cache_changed():
            self.env.registry.clear_cache()
        return records

    def write(self, vals):
        # before and after: a record may start or stop mattering
        changed = self._sales_process_cache_changed(vals)
        res = super().write(vals)
        if changed or self._sales_process_cache_changed(vals):
            self.env.registry.clear_cache()
        return res

    def unlink(self):
        changed = self._sales_process_cache_changed()
        res = super().unlink()
        if changed:
            self.env.registry.clear_cache()
        return res
