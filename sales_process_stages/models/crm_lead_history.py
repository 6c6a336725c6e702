"""The stage history of a lead: one ``crm.lead.stage.history`` row per stay in a stage, ended
and started in the transition's apply step (see ``crm_lead.py``), in every pipeline (the stays
feed the stage conversion report). Merged leads' stays go to the lead they are merged into."""

from collections import defaultdict

from odoo import _, api, fields, models

from ..tools.stage_transition import CREATED, LOST, RESTORED, TRANSFERRED, WON


class CrmLead(models.Model):
    _inherit = "crm.lead"

    # one row per stay in a stage
    stage_history_ids = fields.One2many("crm.lead.stage.history", "lead_id", copy=False, readonly=True)

    @api.model
    def _stage_transition_fields(self):
        # the open stay follows its lead's salesperson
        return super()._stage_transition_fields() | {"user_id"}

    @api.model
    def _stage_transition_snapshot_fields(self):
        return [*super()._stage_transition_snapshot_fields(), "user_id"]

    def _apply_transition_history(self, transitions):
        """Stays end and start (after the SLA of the new stay is computed); the stays going on
        follow their lead's salesperson, pipeline and holds."""
        History = self.env["crm.lead.stage.history"]
        now = self.env.cr.now()
        closing = {}  # lead id: (exit type, SLA result, hours on hold not yet counted)
        opening = defaultdict(list)  # entry type: lead ids
        owner_changed, holds_started, holds_ended = [], [], {}
        for transition in transitions:
            lead, old = transition.lead, transition.old
            if transition.leaves_stay:
                exit_type = {LOST: "lost", WON: "won", TRANSFERRED: "transferred"}.get(transition.kind, "move")
                closing[lead.id] = (exit_type, self._sla_result(old, now), self._sla_hold_hours(old, now))
            if transition.enters_stay:
                entry_type = {CREATED: "create", RESTORED: "restore"}.get(transition.kind, "move")
                opening[entry_type].append(lead.id)
                continue
            if transition.leaves_stay or not (transition.is_active and transition.new_stage_id):
                continue
            # the stay goes on
            if old.get("user_id", lead.user_id.id) != lead.user_id.id or transition.team_changed:
                owner_changed.append(lead.id)
            hold_until = lead.sla_hold_until
            if hold_until and not old.get("sla_hold_until"):
                holds_started.append(lead.id)
            elif old.get("sla_hold_until") and not hold_until:
                holds_ended[lead.id] = old
        if closing or opening:
            History._write_stays(closing, {entry_type: self.browse(ids) for entry_type, ids in opening.items()})
        if owner_changed:
            History._sync_open_stay_owners_later(self.browse(owner_changed))
        if holds_started:
            History._record_holds_started(self.browse(holds_started))
        if holds_ended:
            History._record_holds_ended(holds_ended)


    def _merge_dependences(self, opportunities):
        """Merged leads' history goes to the lead they are merged into, as their messages do."""
        res = super()._merge_dependences(opportunities)
        self.env["crm.lead.stage.history"]._merge_stays(self, opportunities)
        return res

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_view_stage_history(self):
        """The lead's stays in its stages (stat button of the form)."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("sales_process_stages.crm_lead_stage_history_action")
        action.update(
            name=_("Stage History of %(lead)s", lead=self.display_name),
            domain=[("lead_id", "=", self.id)],
            context={"create": False},
            view_mode="list,pivot,graph",
            views=[(False, "list"), (False, "pivot"), (False, "graph")],
        )
        return action
