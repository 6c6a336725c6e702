"""The process rules as typed, immutable values: what ``crm.stage._get_process_rules`` reads once
from the stages, their checklist items and the teams, and caches until one of them changes
(``models/sales_process_cache_mixin.py``).

The cached value is shared by every request and every worker thread: it is made of frozen
dataclasses, tuples, frozensets and read-only mappings (``MappingProxyType``), never changed
after it is built.

- ``ProcessRules``: the whole, with ``stage(stage_id)`` giving a stage's ``StageRules`` (or
  ``NO_STAGE_RULES`` for no stage, or one the rules do not know);
- ``StageRules``: what a stage asks of a lead (fields, a planned activity, its checklist items),
  its place in the pipeline and its time budget (``SlaRule``, or None);
- ``TeamPolicy``: how a pipeline lets its leads move (skip stages, move back, win from some
  stages only), for the teams restricting moves;
- ``SlaRule``: a stage's time budget (``crm.stage._get_sla_rule``), as the SLA computations of
  ``models/crm_lead_sla.py`` read it.
"""

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class SlaRule:
    """Time budget of a stage. Durations are (value, unit) pairs (``crm_stage.SLA_UNITS``)."""

    duration: tuple  # the budget
    working: bool  # counted in working time (else calendar time)
    due_soon_percent: float | None  # due soon past this share of the budget (None: see due_soon_before)
    due_soon_before: tuple | None  # due soon this long before the deadline (None: see due_soon_percent)
    activity_aware: bool  # on hold while a planned activity is due later (see crm_lead_sla.py)
    escalate: bool  # an escalation activity when overdue
    activity_type_id: int | bool  # the escalation's activity type
    notify_leader: bool  # the team leader told when overdue
    leader_delay: tuple  # how long after the deadline


@dataclass(frozen=True, slots=True)
class StageRules:
    """Rules of a stage; the defaults are those of no stage (``NO_STAGE_RULES``)."""

    sequence: int = 0
    is_won: bool = False
    team_id: int | bool = False  # False: shared by every pipeline
    fold: bool = False
    required_fields: tuple = ()  # names of the lead's fields required to enter the stage
    require_next_activity: bool = False
    fixed_probability: float = 0.0
    item_ids: tuple = ()  # the stage's active checklist items
    mandatory_item_ids: tuple = ()  # those of them that are mandatory
    sla: SlaRule | None = None


# the rules of no stage (False) and of a stage the rules do not know: every value falsy or empty
NO_STAGE_RULES = StageRules()


@dataclass(frozen=True, slots=True)
class TeamPolicy:
    """Move policy of a pipeline restricting moves."""

    allow_skip_stages: bool
    allow_move_back: bool
    won_from_stage_ids: tuple = ()  # the stages its leads may be won from (empty: any)


@dataclass(frozen=True, slots=True)
class ProcessRules:
    """Rules of every stage and of the pipelines (``crm.stage._get_process_rules``)."""

    stages: MappingProxyType  # {stage id: StageRules}, every stage (archived ones included)
    teams: MappingProxyType  # {team id: TeamPolicy} of the teams restricting moves
    fixed_probability_teams: frozenset  # teams using fixed probabilities
    own_stages_teams: frozenset  # teams using their own stages only
    lost_reason_teams: frozenset  # teams requiring a lost reason
    won_locked_teams: frozenset  # teams locking their won deals
    # the pipelines someone configured (a policy, or a stage of their own with rules): where the
    # pipeline invariants of ``crm_lead_pipeline.py`` hold
    process_teams: frozenset
    item_prerequisites: MappingProxyType  # {item id: ids of the active items it waits for}
    item_followers: MappingProxyType  # {item id: ids of the active items waiting for it}
    sla_escalation_type_ids: frozenset  # activity types of the SLA's escalations

    def stage(self, stage_id):
        """The ``StageRules`` of stage ``stage_id``; ``NO_STAGE_RULES`` for False or a stage the
        rules do not know."""
        return self.stages.get(stage_id, NO_STAGE_RULES)
