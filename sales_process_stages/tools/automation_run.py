"""Which automation rules are running their actions now.

``base.automation._process`` (Odoo's one place where a rule runs its actions) records its rule here
for the time its actions run, and ``ir.actions.server.run`` reads it to tell a rule running its
own action from anyone else calling ``run`` on it. A Python context variable, not a context key:
no client can set it, and each thread (each request, each cron job) has its own.
"""
import contextlib
import contextvars

_RUNNING_RULE_IDS = contextvars.ContextVar("sales_process_stages_running_rule_ids", default=frozenset())


@contextlib.contextmanager
def rule_running(rule_id):
    """While the block runs, ``rule_id``'s actions are run by their rule."""
    token = _RUNNING_RULE_IDS.set(_RUNNING_RULE_IDS.get() | {rule_id})
    try:
        yield
    finally:
        _RUNNING_RULE_IDS.reset(token)


def is_rule_running(rule_id):
    """Whether ``rule_id`` is running its actions now (in this thread)."""
    return rule_id in _RUNNING_RULE_IDS.get()
