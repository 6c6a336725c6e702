import { odooExceptionTitleMap } from "@web/core/errors/error_dialogs";
import { _t } from "@web/core/l10n/translation";

// The process's refusals are UserErrors: their dialog's title, translated by this addon too (Odoo's own
// Hebrew lacks it), so that a refusal reads in the user's language from its title on.
odooExceptionTitleMap.set("odoo.exceptions.UserError", _t("Invalid Operation"));
