"""Losing and restoring leads: pipelines that require it refuse a loss without a lost reason (of
the lead's company and pipeline) and the details the reason asks for; a restored lead goes back
to the stage it was lost in, without its loss details. Checked in the transition's check step
(see ``crm_lead.py``)."""

from odoo import _, api, fields, models

from ..tools.stage_transition import LOST, RESTORED


class CrmLead(models.Model):
    _inherit = "crm.lead"

    lost_stage_id = fields.Many2one(
        "crm.stage", string="Lost in Stage", compute="_compute_lost_stage_id", store=True, index="btree_not_null",
        help="Stage the lead was in when it was lost; restoring the lead puts it back there.")
    lost_competitor_id = fields.Many2one(
        "res.partner", string="Lost to Competitor", tracking=True, index="btree_not_null",
        help="The competitor who won the deal.")
    lost_competitor_name = fields.Char("Competitor Name", tracking=True)
    lost_note = fields.Text(tracking=True)

    @api.depends("active")
    def _compute_lost_stage_id(self):
        for lead in self:
            if lead.active:
                lead.lost_stage_id = False
            elif not lead.lost_stage_id:
                lead.lost_stage_id = lead.stage_id

    @api.model
    def _get_process_computed_fields(self):
        return super()._get_process_computed_fields() | {"lost_stage_id"}

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_set_lost(self, **additional_values):
        """Write the loss details with the archive, so that the check sees the reason with it."""
        if additional_values:
            self.write(dict(additional_values))
        return super().action_set_lost()

    # ------------------------------------------------------------
    # TRANSITION: check
    # ------------------------------------------------------------

    def _get_stage_transition_problems(self, transitions):
        """Open leads about to be lost (archived) in pipelines requiring a lost reason must give
        one, of their company and pipeline, with the details it asks for."""
        problems = super()._get_stage_transition_problems(transitions)
        # the pipeline the lead is lost in: the one it ends up in (a loss and a transfer at once)
        lost_reason_teams = self.env["crm.stage"]._get_process_rules().lost_reason_teams
        losing = [t for t in transitions if t.kind == LOST and t.new_team_id in lost_reason_teams]
        if not losing:
            return problems
        Team = self.env["crm.team"]

        def value(transition, name):
            if name in transition.vals:
                field = self._fields[name]
                return field.convert_to_record(field.convert_to_cache(transition.vals[name], transition.lead),
                                               transition.lead)
            return transition.lead[name]

        reasons = self.env["crm.lost.reason"].browse()
        for transition in losing:
            reasons |= value(transition, "lost_reason_id")
        done_counts = self.browse([t.lead.id for t in losing])._get_done_activity_counts(
            reasons.filtered("required_activity_count").required_activity_type_id)
        for transition in losing:
            lead, reason = transition.lead, value(transition, "lost_reason_id")
            team = Team.browse(transition.new_team_id)
            if not reason:
                problems[lead].append(_("Pipeline “%(team)s” requires a lost reason.", team=team.name))
                continue
            if reason.company_id and lead.company_id and reason.company_id != lead.company_id:
                problems[lead].append(_(
                    "Lost reason “%(reason)s” belongs to company %(company)s.", reason=reason.name,
                    company=reason.company_id.name))
            if reason.team_ids and team not in reason.team_ids:
                problems[lead].append(_(
                    "Lost reason “%(reason)s” is not one of pipeline “%(team)s”.", reason=reason.name,
                    team=team.name))
            if reason.requires_competitor and not value(transition, "lost_competitor_id") \
                    and not (value(transition, "lost_competitor_name") or "").strip():
                problems[lead].append(_("Lost reason “%(reason)s” requires the competitor.", reason=reason.name))
            if reason.requires_note and not (value(transition, "lost_note") or "").strip():
                problems[lead].append(_("Lost reason “%(reason)s” requires a note.", reason=reason.name))
            if reason.required_activity_count:
                done = done_counts.get((lead.id, reason.required_activity_type_id.id), 0)
                if done < reason.required_activity_count:
                    problems[lead].append(_(
                        "Lost reason “%(reason)s” requires %(count)s completed “%(type)s” activities (%(done)s done).",
                        reason=reason.name, count=reason.required_activity_count,
                        type=reason.required_activity_type_id.name, done=done))
        return problems

    def _get_done_activity_counts(self, activity_types):
        """{(lead id, activity type id): completed activities of that type} (one query): a done
        activity is logged in the chatter as a message carrying its type."""
        if not activity_types:
            return {}
        return {
            (res_id, activity_type.id): count
            for res_id, activity_type, count in self.env["mail.message"].sudo()._read_group(
                [("model", "=", "crm.lead"), ("res_id", "in", self.ids),
                 ("mail_activity_type_id", "in", activity_types.ids)],
                ["res_id", "mail_activity_type_id"], ["__count"])
        }

    # ------------------------------------------------------------
    # TRANSITION: the values restored with the lead
    # ------------------------------------------------------------

    def _prepare_stage_transition_vals(self, transitions, vals):
        """A restored lead loses its loss details (the chatter keeps them)."""
        vals = super()._prepare_stage_transition_vals(transitions, vals)
        if any(t.kind == RESTORED for t in transitions):
            vals = {"lost_competitor_id": False, "lost_competitor_name": False, "lost_note": False, **vals}
        return vals
