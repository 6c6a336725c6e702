from odoo import models


class IrModuleModule(models.Model):
    _inherit = "ir.module.module"

    def _load_module_terms(self, modules, langs, overwrite=False, imported_module=False):
        """A language installed (or its terms loaded) after leads got their checklist: the lines take
        their items' names and descriptions in the languages they lack, so that a lead's checklist
        follows each user's language whenever the language was installed. A line keeps what it has
        (a template edited since never rewrites it)."""
        res = super()._load_module_terms(modules, langs, overwrite=overwrite, imported_module=imported_module)
        self.env["crm.lead.checklist.line"]._complete_translations()
        return res
