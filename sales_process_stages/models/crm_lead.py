"""The stage transition of ``crm.lead``: one place that works out what a ``create`` or ``write``
does to each lead's place in its process, then runs its two steps.

1. **Check** (before anything is written): ``_get_stage_transition_problems`` gathers, for the
   whole batch, what each concern refuses; one translated error lists every lead and what it
   lacks, or the write goes through. Nothing of a refused write is saved.
2. **Apply** (after the write, in batch): ``_apply_stage_transitions`` runs the named steps of
   ``_get_stage_transition_apply_steps`` in the order that method lists (and explains).

Each concern adds its problems to the check (``super()``) and defines its apply step, in its own
file:

- ``crm_lead_entry_requirements.py``: fields required to enter, planned activity, move policy
  (skip, back, won from), the manager's forced move;
- ``crm_lead_checklist.py``: open mandatory items block leaving forward; entering a stage gives
  the lead its checklist and schedules the activities;
- ``crm_lead_fixed_probability.py``: the stage's fixed probability;
- ``crm_lead_sla.py``: the SLA of the stay; ``crm_lead_sla_sweep.py``: its scheduled sweep;
- ``crm_lead_history.py``: the stays of ``crm.lead.stage.history``;
- ``crm_lead_loss.py``: the lost reason and its details; restore.

No context key changes what these steps decide: the only way past the check is
``_force_stage_move``, a sales manager's right checked here.
"""

from collections import defaultdict
from types import MappingProxyType

from markupsafe import Markup, escape

from odoo import _, api, models
from odoo.exceptions import ValidationError

from ..demo import pipeline_demo
from ..tools.stage_transition import (
    CREATED,
    LOST,
    MOVED,
    RESTORED,
    TRANSFERRED,
    UPDATED,
    WON,
    StageTransition,
    applying_transitions,
)

# fields whose change makes a transition (concerns add theirs: ``_stage_transition_fields``)
TRANSITION_FIELDS = frozenset({"stage_id", "active", "team_id"})


class CrmLead(models.Model):
    _inherit = "crm.lead"

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_process_fields_written(vals)
        leads = super().create(vals_list)
        # values are final only once created (defaults, computed stage): checked now, raising
        # undoes the whole create
        transitions = leads._get_created_transitions(vals_list)
        leads._check_stage_transitions(transitions)
        leads._apply_stage_transitions(transitions)
        return leads

    def write(self, vals):
        self._check_process_fields_written(vals)
        transitions = self._get_stage_transitions(vals)
        if not transitions:
            return super().write(vals)
        return self._write_stage_transitions(vals, transitions)

    def _write_stage_transitions(self, vals, transitions, force_reason=None):
        """``write`` with its transitions: check, write, apply.

        :param force_reason: a sales manager's forced move (``_force_stage_move``): the check's
            problems are recorded in the chatter with this reason instead of refusing the write
        """
        forced = self._check_stage_transitions(transitions, force_reason=force_reason)
        vals = self._prepare_stage_transition_vals(transitions, vals)
        res = super().write(vals)
        # restored leads go back to the stage they were lost in (when it is not theirs any more)
        back_to = defaultdict(list)
        for transition in transitions:
            if transition.kind == RESTORED and transition.lead.stage_id.id != transition.new_stage_id:
                back_to[transition.new_stage_id].append(transition.lead.id)
        for stage_id, lead_ids in back_to.items():
            super(CrmLead, self.browse(lead_ids)).write({"stage_id": stage_id})
        self._apply_stage_transitions(transitions)
        if forced:
            self.env["crm.lead.stage.history"]._record_forced_moves(self.browse([lead.id for lead in forced]),
                                                                   force_reason)
        return res

    @api.model
    def _get_process_computed_fields(self):
        """Fields the process computes (the SLA, the checklist's progress, where the lead was
        lost): readonly in the views, and on every other path too. Concerns add theirs."""
        return frozenset()

    def _check_process_fields_written(self, vals):
        """Only the process writes what it computes (as superuser): a client cannot turn a red
        badge green, mark a checklist complete or make a lead answered by writing the values, nor
        by creating a lead with them."""
        for name in TRANSITION_FIELDS - {"active"}:
            value = vals.get(name)
            if value is not None and value is not False and not isinstance(value, models.BaseModel) \
                    and (not isinstance(value, int) or isinstance(value, bool)):
                # a many2one is an id (or False): a list or a dict would fail deep in the ORM
                raise ValidationError(_("“%(field)s” is given as the id of a record (a number), not as %(value)s.",
                                  field=self._fields[name]._description_string(self.env), value=repr(value)[:50]))
        written = self._get_process_computed_fields().intersection(vals)
        if written and not self.env.su:
            labels = self.fields_get(sorted(written), ["string"])
            raise ValidationError(_(
                "%(fields)s are computed by the sales process: they cannot be written.",
                fields=", ".join(sorted(label["string"] for label in labels.values()))))

    # ------------------------------------------------------------
    # TRANSITIONS: worked out once
    # ------------------------------------------------------------

    @api.model
    def _stage_transition_fields(self):
        """Fields whose change makes a transition. Concerns add the fields they follow."""
        return TRANSITION_FIELDS

    @api.model
    def _stage_transition_snapshot_fields(self):
        """Fields read before a write, for the concerns (``StageTransition.old``)."""
        return ["stage_id", "active", "team_id"]

    def _get_stage_transitions(self, vals):
        """:return: [StageTransition] of the leads whose stage, outcome, pipeline (or a field a
            concern follows) ``vals`` change; empty for the writes that change none (most)"""
        if not self._stage_transition_fields().intersection(vals):
            return []
        snapshot_fields = self._stage_transition_snapshot_fields()
        rules = self.env["crm.stage"]._get_process_rules()
        frozen_vals = MappingProxyType(dict(vals))
        transitions = []
        for lead in self:
            old = MappingProxyType({
                name: value.id if isinstance(value, models.BaseModel) else value
                for name in snapshot_fields
                for value in (lead[name],)
            })
            is_active = bool(vals["active"]) if "active" in vals else old["active"]
            new_team_id = (vals["team_id"] or False) if "team_id" in vals else old["team_id"]
            if "stage_id" in vals:
                new_stage_id = vals["stage_id"] or False
            elif is_active and not old["active"] and lead.lost_stage_id:
                new_stage_id = lead.lost_stage_id.id  # restored in the stage it was lost in
            else:
                new_stage_id = old["stage_id"]
            kind = self._get_stage_transition_kind(
                rules, old["stage_id"], new_stage_id, old["team_id"], new_team_id, old["active"], is_active)
            if kind == UPDATED and not any(
                    name in vals and old.get(name, vals[name]) != (vals[name] or False) for name in vals
                    if name in self._stage_transition_fields()):
                continue  # writes the values the lead has
            transitions.append(StageTransition(
                lead=lead, kind=kind, old_stage_id=old["stage_id"], new_stage_id=new_stage_id,
                old_team_id=old["team_id"], new_team_id=new_team_id, was_active=old["active"],
                is_active=is_active, vals=frozen_vals, old=old,
            ))
        return transitions

    def _get_created_transitions(self, vals_list):
        """:return: [StageTransition] of new leads (their values as created)."""
        return [
            StageTransition(
                lead=lead, kind=CREATED if lead.active else LOST, old_stage_id=False,
                new_stage_id=lead.stage_id.id, old_team_id=False, new_team_id=lead.team_id.id,
                was_active=False, is_active=lead.active, vals=MappingProxyType(vals), is_new=True,
            )
            for lead, vals in zip(self, vals_list, strict=True)
        ]

    @api.model
    def _get_stage_transition_kind(self, rules, old_stage, new_stage, old_team, new_team, was_active, is_active):
        """Kind of the transition (``tools/stage_transition.py``) from ``old_stage`` in ``old_team``
        to ``new_stage`` in ``new_team`` (``rules``: the process rules, ``crm.stage._get_process_rules``)."""
        if was_active and not is_active:
            return LOST
        if is_active and not was_active:
            return RESTORED
        if old_stage == new_stage or not is_active:
            return UPDATED
        if rules.stage(new_stage).is_won and not rules.stage(old_stage).is_won:
            return WON
        if old_team != new_team:
            return TRANSFERRED
        return MOVED

    # ------------------------------------------------------------
    # TRANSITIONS: the two steps, extended by each concern
    # ------------------------------------------------------------

    def _get_stage_transition_problems(self, transitions):
        """What the concerns refuse in these transitions.

        :return: {lead: [problem, ...]} in the user's language; each concern adds its own"""
        return defaultdict(list)

    def _check_stage_transitions(self, transitions, force_reason=None):
        """The check step: refuse the batch with one message naming each lead and what it
        lacks, or record a manager's forced move in the chatter.

        :return: {lead: [problem, ...]} the forced move went past (empty when nothing was refused)"""
        if not transitions:
            return {}
        problems = self._get_stage_transition_problems(transitions)
        if not problems:
            return {}
        if force_reason:
            bodies = {
                lead.id: Markup("<p>%s</p><ul>%s</ul>") % (
                    _("Stage move forced past the process rules. Reason: %(reason)s", reason=force_reason),
                    Markup().join(Markup("<li>%s</li>") % escape(line) for line in lines),
                )
                for lead, lines in problems.items()
            }
            self.browse([lead.id for lead in problems])._message_log_batch(bodies)
            return problems
        kinds = {transition.kind for transition in transitions if transition.lead in problems}
        single = len(problems) == 1
        if kinds == {LOST}:
            message = _("This lead cannot be marked lost:") if single else _("These leads cannot be marked lost:")
        else:
            message = _("This stage move is refused:") if single else _("These stage moves are refused:")
        message += "\n" + "\n".join(
            f"- {lead.display_name}: {line}" for lead, lines in problems.items() for line in lines)
        if kinds != {LOST}:
            message += "\n" + _(
                "“Move to Stage” in the lead's gear menu (⚙) asks for what is missing and moves the lead in "
                "one step.")
        raise ValidationError(message)

    def _prepare_stage_transition_vals(self, transitions, vals):
        """Values the write makes with its transitions (a concern adds what is the same for the
        whole batch, saving a second write). :return: the values to write"""
        return vals

    def _get_stage_transition_apply_steps(self):
        """The apply step's named steps, in the order they run; each is a method of its concern's
        file, taking the batch's transitions. What a step needs from another is said here:

        1. ``_apply_transition_checklist`` (``crm_lead_checklist.py``): a lost lead's open items
           cancelled, a restored one's reopened, the lines of the stage entered created, with their
           activities;
        2. ``_apply_transition_fixed_probability`` (``crm_lead_fixed_probability.py``): the stage's
           probability, where the write did not set it already;
        3. ``_apply_transition_sla`` (``crm_lead_sla.py``): the stay's SLA deadline and state (the
           checklist's activities are no planned next activity: they never move the deadline);
        4. ``_apply_transition_first_response`` (``crm_lead_first_response.py``): the first move out
           of the first stage;
        5. ``_apply_transition_history`` (``crm_lead_history.py``): the stays end and start, after
           the SLA (a new stay records the deadline step 3 computed);
        6. ``_apply_transition_customer_status`` (``crm_lead_customer_status.py``): the customers of
           leads won or no longer won.

        A new concern adds its step here, in its place, and its method in its own file."""
        return [
            "_apply_transition_checklist",
            "_apply_transition_fixed_probability",
            "_apply_transition_sla",
            "_apply_transition_first_response",
            "_apply_transition_history",
            "_apply_transition_customer_status",
        ]

    def _apply_stage_transitions(self, transitions):
        """The apply step, after the write (or the create), in batch: the named steps of
        ``_get_stage_transition_apply_steps``, in their order."""
        with applying_transitions():
            for step in self._get_stage_transition_apply_steps():
                getattr(self, step)(transitions)

    # ------------------------------------------------------------
    # ACTIVITIES: the one hook, and the one planned next activity
    # ------------------------------------------------------------

    def _on_activities_changed(self):
        """The leads' activities were created, changed (deadline, type, record) or deleted
        (``mail.activity``, as the superuser's or a user's): each concern that reads them extends
        this (the SLA: a deadline that waits for planned activities)."""
        return None

    def _get_planned_next_activity_domain(self):
        """The one definition of a lead's planned next activity, read by the stages that require one
        to enter (``crm_lead_entry_requirements.py``) and by the SLAs that wait for one
        (``crm_lead_sla.py``): an activity of the lead the rep planned, that is neither a checklist
        item's activity (the process's work, not a next step) nor an escalation of the SLA."""
        checklist_activities = self.env["crm.lead.checklist.line"].sudo()._search(
            [("lead_id", "in", self.ids), ("activity_id", "!=", False)])
        return [
            ("res_model", "=", self._name), ("res_id", "in", self.ids),
            ("activity_type_id", "not in", list(self.env["crm.stage"]._get_sla_escalation_type_ids())),
            ("id", "not in", checklist_activities.subselect("activity_id")),
        ]

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_open_transfer(self):
        """Open the "Transfer to Another Pipeline" wizard (it moves the leads through the check)."""
        return {
            "type": "ir.actions.act_window",
            "name": _("Transfer to Another Pipeline"),
            "res_model": "crm.lead.transfer",
            "view_mode": "form",
            "target": "new",
            "context": {"default_lead_ids": self.ids},
        }

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _get_stage_move_problems(self, stage_id):
        """What refuses moving the lead to ``stage_id`` today (the "Move to Stage" dialog).

        :return: [problem, ...] in the user's language"""
        self.ensure_one()
        transitions = self._get_stage_transitions({"stage_id": stage_id})
        return self._get_stage_transition_problems(transitions).get(self, []) if transitions else []

    def _force_stage_move(self, stage, reason):
        """A sales manager moves the leads to ``stage`` past the process rules; the reason and
        what was bypassed go to the chatter. The right is checked here, on the server."""
        if not (self.env.su or self.env.user.has_group("sales_team.group_sale_manager")):
            raise ValidationError(_("Only sales managers can force a stage move past its rules."))
        reason = (reason or "").strip()
        if not reason:
            raise ValidationError(_("Say why the move is forced."))
        vals = {"stage_id": stage.id}
        transitions = self._get_stage_transitions(vals)
        if not transitions:
            return super().write(vals)
        return self._write_stage_transitions(vals, transitions, force_reason=reason)

    # ------------------------------------------------------------
    # DEMO
    # ------------------------------------------------------------

    @api.model
    def _demo_play_pipeline(self, script):
        """Demo data only: walk demo leads through their pipeline by its rules, then date their
        history back (see ``demo/pipeline_demo.py``)."""
        pipeline_demo.play(self.env, script)
        return True
