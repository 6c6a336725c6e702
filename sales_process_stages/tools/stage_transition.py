"""What a ``create`` or ``write`` of ``crm.lead`` does to a lead's place in its process.

``crm.lead`` works these out once per call (``_get_stage_transitions``), before anything is
written, and hands the same list to both steps of the transition: the check
(``_get_stage_transition_problems``) and the apply (``_apply_stage_transitions``).
"""

import contextlib
import contextvars
from dataclasses import dataclass, field
from types import MappingProxyType

# the kinds of transition, most telling first
CREATED = "created"  # a new lead
MOVED = "moved"  # to another stage of its pipeline
WON = "won"  # into a won stage
LOST = "lost"  # archived while open (or created lost)
RESTORED = "restored"  # a lost lead made active again
TRANSFERRED = "transferred"  # to a stage of another pipeline
UPDATED = "updated"  # same stage and outcome; pipeline, salesperson or hold changed

EMPTY = MappingProxyType({})

# set while the apply step runs (its steps write what a move implies, whoever moved the lead): a
# Python context variable, not a context key, so no client sets it
_APPLYING = contextvars.ContextVar("sales_process_stages_applying_transitions", default=False)


@contextlib.contextmanager
def applying_transitions():
    token = _APPLYING.set(True)
    try:
        yield
    finally:
        _APPLYING.reset(token)


def is_applying_transitions():
    """Whether the transition's apply step is running now (in this thread)."""
    return _APPLYING.get()


@dataclass(frozen=True, slots=True)
class StageTransition:
    """One lead's transition in one ``create`` or ``write``.

    :ivar lead: the lead (a record of the calling environment)
    :ivar kind: one of the kinds above
    :ivar old_stage_id, new_stage_id: stage ids before and after (False: none)
    :ivar old_team_id, new_team_id: pipeline (sales team) ids before and after
    :ivar was_active, is_active: open or lost, before and after
    :ivar vals: the values written on the lead (for a create: its own values)
    :ivar old: what the concerns follow of the lead before the write, by field name (many2one
        fields as ids; see ``crm.lead._stage_transition_snapshot_fields``); empty for a create
    :ivar is_new: the transition of a ``create``
    """

    lead: object
    kind: str
    old_stage_id: int | bool
    new_stage_id: int | bool
    old_team_id: int | bool
    new_team_id: int | bool
    was_active: bool
    is_active: bool
    vals: MappingProxyType
    old: MappingProxyType = field(default_factory=lambda: EMPTY)
    is_new: bool = False  # the lead is being created

    @property
    def stays_lost(self):
        """A lost lead, lost before and after the write (not created)."""
        return not (self.is_new or self.was_active or self.is_active)

    @property
    def enters_stage(self):
        """The lead enters a stage by the rules of its pipeline: created open in it, written into
        it (see ``is_stage_move``), or brought into another pipeline while open (a transfer into
        the same shared stage enters it by the new pipeline's rules)."""
        return bool(self.new_stage_id and (
            (self.is_new and self.is_active) or self.is_stage_move
            or (self.team_changed and self.is_active and not self.is_new)))

    @property
    def stage_changed(self):
        return self.old_stage_id != self.new_stage_id

    @property
    def team_changed(self):
        return self.old_team_id != self.new_team_id

    @property
    def is_stage_move(self):
        """The write puts the lead in another stage, whatever else it does (a move, a win, a
        transfer, a loss or a restore into another stage): the stage's entry rules apply. A
        restore back to the stage the lead was lost in (no stage written) is none."""
        return bool(self.kind != CREATED and "stage_id" in self.vals and self.stage_changed
                    and (self.was_active or self.is_active))

    @property
    def leaves_stay(self):
        """The lead's stay in a stage ends: it was open in a stage, and moves, or is lost."""
        return bool(self.was_active and self.old_stage_id and (self.stage_changed or not self.is_active))

    @property
    def enters_stay(self):
        """A stay in a stage starts: the lead is created, moved or restored, open, in a stage."""
        return bool(self.is_active and self.new_stage_id
                    and (self.kind in (CREATED, RESTORED) or self.stage_changed))
