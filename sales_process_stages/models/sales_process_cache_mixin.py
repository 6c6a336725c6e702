from odoo import api, models


class SalesProcessCacheMixin(models.AbstractModel):
    """Records the sales process's cached values are computed from: the rules of
    ``crm.stage._get_process_rules`` (stages, checklist items, teams), the working time of
    ``resource.calendar._get_sla_work_intervals`` (calendars, attendances, public leaves).
    Creating, changing, archiving or deleting them clears the registry's caches: the one place
    these caches are invalidated."""

    _name = "sales.process.cache.mixin"
    _description = "Sales Process Cache Source"

    def _sales_process_cache_names(self, vals=None):
        """Registry caches that creating, deleting (``vals`` None) or writing ``vals`` on these
        records makes stale: all of "default" unless a model says which records or fields
        matter (an empty tuple: none)."""
        return ("default",)

    def _sales_process_clear_caches(self, names):
        if names:
            self.env.registry.clear_cache(*names)

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        records._sales_process_clear_caches(records._sales_process_cache_names())
        return records

    def write(self, vals):
        # before and after: a record may start or stop mattering
        names = set(self._sales_process_cache_names(vals))
        res = super().write(vals)
        names.update(self._sales_process_cache_names(vals))
        self._sales_process_clear_caches(tuple(sorted(names)))
        return res

    def unlink(self):
        names = self._sales_process_cache_names()
        res = super().unlink()
        self._sales_process_clear_caches(names)
        return res
