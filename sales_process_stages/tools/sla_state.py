"""The SLA's state machine, defined once: the states of a stay's time budget, their urgency,
the dates at which a running SLA changes state (``SLA_THRESHOLDS``), and the same definition as
Python (``sla_state_at``, the lead's compute) and as SQL on ``crm_lead``'s columns (the sweep's
selection: ``sla_state_sql``, ``sla_state_changes_sql``, ``sla_next_change_sql``).

Read by ``models/crm_lead_sla.py`` (the lead's SLA fields and their compute) and
``models/crm_lead_sla_sweep.py`` (the scheduled sweep)."""

from odoo.tools import SQL

SLA_STATES = [
    ("none", "No SLA"),
    ("on_track", "On Track"),
    ("due_soon", "Due Soon"),
    ("overdue", "Overdue"),
]
# urgency of each state, to sort by (the daily review)
SLA_PRIORITY = {"none": 0, "on_track": 1, "due_soon": 2, "overdue": 3}
# The traffic light of a running SLA, defined once: the most urgent state whose date (a field of
# the lead) has passed, else on track. Most urgent first.
SLA_RUNNING_STATES = ("on_track", "due_soon")
SLA_THRESHOLDS = (("overdue", "sla_deadline"), ("due_soon", "sla_due_soon_date"))
# dates of a lead when the sweep has work to do on it (resume a hold, change a state, escalate)
SLA_SWEEP_DATE_FIELDS = ("sla_resume_date", "sla_due_soon_date", "sla_deadline", "sla_escalation_date",
                         "sla_leader_date")
# values of a lead without a running SLA
SLA_NONE_VALUES = {
    "sla_state": "none", "sla_priority": 0, "sla_deadline": False, "sla_due_soon_date": False,
    "sla_escalation_date": False, "sla_leader_date": False,
}


def sla_state_at(dates, now):
    """State of a running SLA at ``now``; ``dates``: {field name of SLA_THRESHOLDS: datetime}."""
    for state, fname in SLA_THRESHOLDS:
        if dates.get(fname) and now >= dates[fname]:
            return state
    return "on_track"


def sla_state_sql(now):
    """The state of a running SLA at ``now``, as SQL on ``crm_lead``'s columns."""
    return SQL("CASE %s ELSE 'on_track' END", SQL(" ").join(
        SQL("WHEN %s <= %s THEN %s", SQL.identifier(fname), now, state) for state, fname in SLA_THRESHOLDS))


def sla_priority_sql(state_sql):
    """The urgency (``SLA_PRIORITY``) of the state ``state_sql``, as SQL."""
    return SQL("(CASE %s END)", SQL(" ").join(
        SQL("WHEN %s = %s THEN %s", state_sql, state, priority) for state, priority in SLA_PRIORITY.items()))


def sla_less_urgent_states(state):
    """The states of a running SLA less urgent than ``state`` (a state of ``SLA_THRESHOLDS``)."""
    urgency = [threshold for threshold, __ in reversed(SLA_THRESHOLDS)]  # least urgent first
    return ("on_track", *urgency[:urgency.index(state)])


def sla_state_changes_sql(now, target=None):
    """Running SLAs whose state at ``now`` is more urgent than the state they have (those
    turning ``target``, when given), as a condition the partial indexes of the dates serve."""
    conditions = [
        SQL("(sla_state IN %s AND %s <= %s)", sla_less_urgent_states(state), SQL.identifier(fname), now)
        for state, fname in SLA_THRESHOLDS
        if not target or state == target
    ]
    return SQL("(%s)", SQL(" OR ").join(conditions))


def sla_next_change_sql(now):
    """The first date after ``now`` when a running SLA changes state (NULL if none), as SQL: the
    earliest threshold to come of the leads below it, each read from its partial index."""
    return SQL("LEAST(%s)", SQL(", ").join(
        SQL("(SELECT MIN(%(date)s) FROM crm_lead WHERE sla_state IN %(states)s AND %(date)s > %(now)s)",
            date=SQL.identifier(fname), states=sla_less_urgent_states(state), now=now)
        for state, fname in SLA_THRESHOLDS))
