import ast

from odoo import models
from odoo.tools.safe_eval import safe_eval

# operators by which a domain leaf names the stages (or teams) a rule fires for
NAMING_OPERATORS = ("=", "in")


class BaseAutomation(models.Model):
    _inherit = "base.automation"

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

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


def _ids_of(value):
    """Integer ids named by a leaf's value: one id, or a list of them (other values name none)."""
    values = value if isinstance(value, (list, tuple, set)) else [value]
    return {item for item in values if isinstance(item, int) and not isinstance(item, bool)}
