from contextvars import ContextVar

from odoo import _, models
from odoo.exceptions import ValidationError

# The server actions whose automation rule is running them now, in this thread: set by
# base.automation._process (models/base_automation.py) around Odoo's own, read by run(). A Python
# context variable, out of reach of any client (a context key would be anyone's to set over RPC).
RUNNING_RULE_ACTIONS = ContextVar("sales_process_stages_running_rule_actions", default=frozenset())


class IrActionsServer(models.Model):
    _inherit = "ir.actions.server"

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def run(self):
        """An automation rule's actions run from their rule: when it fires (base_automation's
        ``_process``, whatever the trigger, time-based and webhooks included) and in its form's
        onchange (``on_change`` rules). Run by hand (``run`` over RPC, the action's button), they
        are refused, but to administrators (and internal code in sudo) on records the rule's filter
        accepts: a manual run does only what the rule would do."""
        self._check_rule_run()
        return super().run()

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _check_rule_run(self):
        running = RUNNING_RULE_ACTIONS.get()
        for action in self.sudo():
            rule = action.base_automation_id
            if not rule or action.id in running or self._is_rule_onchange(rule):
                continue
            if not (self.env.su or self.env.user.has_group("base.group_system")):
                raise ValidationError(_(
                    "The action “%(action)s” runs when its automation rule “%(rule)s” fires; it cannot be "
                    "run by hand.", action=action.name, rule=rule.name))
            records = self._get_active_records(action)
            outside = records - rule._filter_post(records)
            if outside:
                raise ValidationError(_(
                    "The action “%(action)s” of the automation rule “%(rule)s” runs only on records its rule "
                    "accepts; not on %(records)s.",
                    action=action.name, rule=rule.name, records=", ".join(outside.sudo().mapped("display_name"))))

    def _is_rule_onchange(self, rule):
        """The onchange of an ``on_change`` rule runs its actions with the edited record in the
        context (``onchange_self``): a record, which no RPC client can send."""
        return rule.trigger == "on_change" and isinstance(self.env.context.get("onchange_self"), models.BaseModel)

    def _get_active_records(self, action):
        """The records a run of ``action`` acts on, as ``_get_eval_context`` reads them."""
        context = self.env.context
        model = self.env[action.model_id.model]
        if context.get("active_model") != action.model_id.model:
            return model
        ids = context.get("active_ids") or ([context["active_id"]] if context.get("active_id") else [])
        return model.browse(ids).exists()
