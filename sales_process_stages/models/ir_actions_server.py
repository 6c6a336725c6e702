from odoo import _, models
from odoo.exceptions import AccessError, UserError

from ..tools.automation_run import is_rule_running

MODULE = "sales_process_stages"


class IrActionsServer(models.Model):
    """The actions of the automation rules the addon seeds run from their rule: a user calling
    ``run`` on one (over RPC, from a button) is refused; an administrator may run one by hand, but
    only on records the rule's filter applies to. The customer's own rules and actions are Odoo's
    as they are."""

    _inherit = "ir.actions.server"

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def run(self):
        for action in self._filter_seeded_automation_actions():
            action._check_run_by_its_rule()
        return super().run()

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _filter_seeded_automation_actions(self):
        """The actions of ``self`` that are actions of automation rules the addon seeds."""
        automation_actions = self.sudo().filtered("base_automation_id")
        if not automation_actions:
            return self.browse()
        seeded_ids = set(self.env["ir.model.data"].sudo().search([
            ("module", "=", MODULE), ("model", "=", self._name), ("res_id", "in", automation_actions.ids),
        ]).mapped("res_id"))
        return self.filtered(lambda action: action.id in seeded_ids)

    def _check_run_by_its_rule(self):
        """Refuse running the seeded rule action ``self`` outside its rule, but for an administrator
        (or the superuser) on records that the rule's filter applies to."""
        self.ensure_one()
        rule = self.sudo().base_automation_id
        if is_rule_running(rule.id):
            return
        if not (self.env.su or self.env.user._is_system()):
            raise AccessError(_(
                'The action "%(action)s" is run by its automation rule "%(rule)s", not by users.',
                action=self.sudo().name, rule=rule.name,
            ))
        context = self.env.context
        if context.get("active_model") != rule.model_name:
            return  # the action runs on no record of the rule's model
        ids = context.get("active_ids") or ([context["active_id"]] if context.get("active_id") else [])
        records = self.env[rule.model_name].browse(ids).exists()
        outside = records - rule._filter_post(records)
        if outside:
            raise UserError(_(
                'The action "%(action)s" runs only on records its automation rule "%(rule)s" applies '
                "to, which %(records)s does not.",
                action=self.sudo().name, rule=rule.name, records=", ".join(outside.mapped("display_name")),
            ))
