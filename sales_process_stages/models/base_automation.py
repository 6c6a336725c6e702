import ast

from odoo import api, models
from odoo.tools.safe_eval import safe_eval

from ..tools.automation_run import rule_running

# operators by which a domain leaf names the stages (or teams) a rule fires for
NAMING_OPERATORS = ("=", "in")


class BaseAutomation(models.Model):
    _inherit = "base.automation"

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _process(self, records, domain_post=None):
        # the rule's actions run from their rule: what ``ir.actions.server.run`` lets them do
        with rule_running(self.id):
            return super()._process(records, domain_post=domain_post)

    def _get_domain_leaves(self, field_name="filter_domain"):
        """The ``(path, operator, value)`` leaves of the rule's domain ``field_name``.

        The domain is read as data first (``ast.literal_eval``); one using names (``uid``,
        ``user``, ...) is evaluated as Odoo evaluates it when the rule runs (``safe_eval`` with the
        rule's evaluation context). A domain that cannot be evaluated names nothing: no leaves.
        """
        self.ensure_one()
        text = self.sudo()[field_name]
        if not text:
            return []
        try:
            domain = ast.literal_eval(text)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            try:
                domain = safe_eval(text, self._get_eval_context())
            except Exception:  # whatever the domain raises, it names nothing
                return []
        if not isinstance(domain, (list, tuple)):
            return []
        return [
            tuple(leaf) for leaf in domain
            if isinstance(leaf, (list, tuple)) and len(leaf) == 3 and isinstance(leaf[0], str)
        ]

    def _get_crm_stage_scope(self):
        """What the crm.lead rules of ``self`` fire for, read from their trigger and filter.

        :return: {rule: (stage_ids, team_ids)}: the stages the rule names ("stage is set to" a
            stage, or a filter leaf ``stage_id`` ``=`` / ``in`` ids), else ``None`` when it names
            no stage; the teams its filter names the same way (``team_id``).
        """
        scopes = {}
        for rule in self.sudo():
            if rule.model_name != "crm.lead":
                continue
            stage_ids, team_ids = None, set()
            if rule.trigger == "on_stage_set" and rule.trg_field_ref:
                stage_ids = {rule.trg_field_ref}
            for path, operator, value in rule._get_domain_leaves():
                if operator not in NAMING_OPERATORS:
                    continue
                ids = _ids_of(value)
                if path in ("stage_id", "stage_id.id"):
                    stage_ids = (stage_ids or set()) | ids
                elif path in ("team_id", "team_id.id"):
                    team_ids |= ids
            scopes[rule.with_env(self.env)] = (stage_ids, team_ids)
        return scopes

    def _filter_fires_for_crm_stage(self, stage, scopes=None):
        """The rules of ``self`` that fire for leads in ``stage``: those naming the stage, and those
        naming no stage but the stage's own pipeline (a rule for every stage of the team)."""
        if scopes is None:
            scopes = self._get_crm_stage_scope()
        rules = self.browse()
        for rule, (stage_ids, team_ids) in scopes.items():
            if stage.id in (stage_ids or ()) or (
                stage_ids is None and stage.team_id and stage.team_id.id in team_ids
            ):
                rules |= rule
        return rules & self

    def _get_field_paths(self):
        """Every field path the rule's domains use (filter and pre-filter), as tuples of names."""
        self.ensure_one()
        return [
            tuple(path.split("."))
            for field_name in ("filter_domain", "filter_pre_domain")
            for path, _operator, _value in self._get_domain_leaves(field_name)
        ]

    def _uses_fields(self, model_fields):
        """Whether the rule's trigger fields, date field, watched fields or domains use one of
        ``model_fields`` (``ir.model.fields``): the rules that would break without them."""
        self.ensure_one()
        rule = self.sudo()
        if (rule.trigger_field_ids | rule.trg_date_id | rule.on_change_field_ids) & model_fields:
            return True
        names = {(field.model, field.name) for field in model_fields}
        for path in rule._get_field_paths():
            model = self.env.get(rule.model_name)
            for name in path:
                if model is None:
                    break
                if (model._name, name) in names:
                    return True
                field = model._fields.get(name)
                model = self.env.get(field.comodel_name) if field and field.comodel_name else None
        return False

    @api.model
    def _unlink_rules_using_module_fields(self, module):
        """Delete the rules using fields that only ``module`` defines (the fields its uninstall
        drops). Run by the addon's uninstall hook, as the superuser, archived rules included."""
        data = self.env["ir.model.data"].sudo()
        field_ids = set(data.search([("model", "=", "ir.model.fields"), ("module", "=", module)]).mapped("res_id"))
        shared_ids = set(data.search([
            ("model", "=", "ir.model.fields"), ("module", "!=", module), ("res_id", "in", list(field_ids)),
        ]).mapped("res_id"))
        own_fields = self.env["ir.model.fields"].sudo().browse(field_ids - shared_ids).exists()
        if not own_fields:
            return self.browse()
        rules = self.sudo().with_context(active_test=False).search([])
        doomed = rules.filtered(lambda rule: rule._uses_fields(own_fields))
        doomed.unlink()
        return doomed


def _ids_of(value):
    """Integer ids named by a leaf's value: one id, or a list of them (other values name none)."""
    values = value if isinstance(value, (list, tuple, set)) else [value]
    return {item for item in values if isinstance(item, int) and not isinstance(item, bool)}
