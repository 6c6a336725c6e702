"""The lead's place in its pipeline, whatever the sequence of writes that brought it there.

In the pipelines someone configured (``process_teams`` of ``crm.stage._get_process_rules``:
a policy of the team, or a stage of its own with rules; pipelines nobody configured behave as
in plain Odoo), after every ``create`` and ``write``:

- **a lead's stage belongs to its pipeline** (a stage of its own, or shared by every pipeline
  unless the pipeline uses its own stages only). A write that changes the pipeline without
  giving a stage puts the lead in the new pipeline's first stage (as Odoo's ``_stage_find`` and
  the transfer wizard do) when its stage is not one of the new pipeline's; a stage that is not
  the pipeline's is refused, a lead without a pipeline included;
- **a pipeline change is a transfer**, checked by the pipeline the lead enters: its entry
  requirements and its won-from rule (``crm_lead_entry_requirements.py``), its first stage when
  it does not allow skipping, and the open mandatory items the lead left in its earlier stages
  (a lead cannot leave a pipeline and come back further on);
- **a lost lead stays where it was lost** (stage and pipeline) until it is restored: restoring
  picks up there, and restoring into another stage is a move from that stage, with the items
  it had there as they were before the loss (the loss cancelled them: they block as open ones);
- **what the rules read is the process's**: ``date_last_stage_update`` (the stage's entry date,
  which the stays, the SLA and the items needing a file read) is Odoo's and the process's to
  set, never a client's.

Checked in the transition's check step (``crm_lead.py``), with every other concern's problems.
"""

from collections import defaultdict

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..tools.stage_transition import RESTORED

# fields the rules read that only the process sets, in the pipelines someone configured
PROCESS_OWNED_FIELDS = ("date_last_stage_update",)


class CrmLead(models.Model):
    _inherit = "crm.lead"

    # the lead's pipeline is one someone configured: the card shows the process's badges there
    # only (a pipeline nobody configured looks as in plain Odoo)
    in_process_pipeline = fields.Boolean("In a Configured Pipeline", compute="_compute_in_process_pipeline")

    @api.depends("team_id")
    def _compute_in_process_pipeline(self):
        process_teams = self.env["crm.stage"]._get_process_rules().process_teams
        for lead in self:
            lead.in_process_pipeline = lead.team_id.id in process_teams

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        leads = super().create(vals_list)
        if not self.env.su:
            owned = [lead for lead, vals in zip(leads, vals_list, strict=True)
                     if any(name in vals for name in PROCESS_OWNED_FIELDS)]
            if owned:
                self.browse([lead.id for lead in owned])._check_process_owned_fields(
                    [name for name in PROCESS_OWNED_FIELDS if any(name in vals for vals in vals_list)])
        return leads

    def write(self, vals):
        if not self.env.su and any(name in vals for name in PROCESS_OWNED_FIELDS):
            self._check_process_owned_fields([name for name in PROCESS_OWNED_FIELDS if name in vals],
                                             vals.get("team_id"))
        if "team_id" in vals and "stage_id" not in vals:
            placed = self._get_pipeline_first_stage(vals["team_id"] or False)
            if placed:
                # the leads whose stage is not one of the new pipeline's start in its first stage
                moved = self.browse(placed[1])
                moved.write({**vals, "stage_id": placed[0]})
                rest = self - moved
                if rest:
                    rest.write(vals)
                return True
        return super().write(vals)

    def _check_process_owned_fields(self, names, team_id=None):
        """Refuse a client's value of the fields the rules read (``PROCESS_OWNED_FIELDS``) on leads
        of the pipelines someone configured (before or after the write)."""
        process_teams = self.env["crm.stage"]._get_process_rules().process_teams
        if team_id in process_teams or any(lead.team_id.id in process_teams for lead in self):
            labels = self.fields_get(names, ["string"])
            raise ValidationError(_(
                "%(fields)s is set by the sales process when a lead enters a stage: it cannot be written.",
                fields=", ".join(labels[name]["string"] for name in names)))

    def _get_pipeline_first_stage(self, team_id):
        """Where a write of ``team_id`` alone puts these leads.

        :return: (stage id, [lead id]) of the leads whose stage is not one of the new pipeline's,
            in a configured pipeline (the old one or the new one): the pipeline's first stage, as
            Odoo's ``_stage_find`` gives it; or None"""
        rules = self.env["crm.stage"]._get_process_rules()
        process_teams = rules.process_teams
        lead_ids = [
            lead.id for lead in self
            if lead.stage_id and lead.team_id.id != team_id
            and not self._is_pipeline_stage(rules, lead.stage_id.id, team_id)
            and (team_id in process_teams or lead.team_id.id in process_teams
                 or rules.stage(lead.stage_id.id).team_id in process_teams)
        ]
        if not lead_ids:
            return None
        stage = self.browse()._stage_find(team_id=team_id, domain=[("fold", "=", False), ("is_won", "=", False)])
        return (stage.id, lead_ids) if stage else None

    @api.model
    def _is_pipeline_stage(self, rules, stage_id, team_id):
        """Whether stage ``stage_id`` is a stage of pipeline ``team_id`` (False: no pipeline), by the
        process rules ``rules`` (``crm.stage._get_process_rules``)."""
        stage_team_id = rules.stage(stage_id).team_id
        if stage_team_id:
            return stage_team_id == team_id
        return team_id not in rules.own_stages_teams

    @api.model
    def _get_pipeline_first_stage_id(self, rules, team_id):
        """Id of the first open stage of pipeline ``team_id`` in the order of its stages, by the
        process rules ``rules`` (``crm.stage._get_process_rules``)."""
        candidates = [
            (rule.sequence, stage_id) for stage_id, rule in rules.stages.items()
            if not rule.is_won and self._is_pipeline_stage(rules, stage_id, team_id)
        ]
        return min(candidates)[1] if candidates else False

    # ------------------------------------------------------------
    # TRANSITION: check
    # ------------------------------------------------------------

    def _get_stage_transition_problems(self, transitions):
        problems = super()._get_stage_transition_problems(transitions)
        rules = self.env["crm.stage"]._get_process_rules()
        stage_rules, process_teams = rules.stages, rules.process_teams
        if not process_teams:
            return problems
        Stage, Team = self.env["crm.stage"], self.env["crm.team"]

        def configured(transition):
            return bool({transition.old_team_id, transition.new_team_id,
                         rules.stage(transition.old_stage_id).team_id,
                         rules.stage(transition.new_stage_id).team_id} & process_teams)

        def team_name(team_id):
            return Team.browse(team_id).name if team_id else _("no pipeline")

        concerned = [t for t in transitions if configured(t)]
        transfers = []
        for transition in concerned:
            lead = transition.lead
            if transition.stays_lost and (transition.stage_changed or transition.team_changed):
                problems[lead].append(_(
                    "The lead is lost: restore it before moving it to another stage or pipeline."))
                continue
            if transition.new_stage_id and not self._is_pipeline_stage(
                    rules, transition.new_stage_id, transition.new_team_id):
                problems[lead].append(_(
                    "Stage “%(stage)s” is not a stage of pipeline “%(team)s”.",
                    stage=Stage.browse(transition.new_stage_id).display_name,
                    team=team_name(transition.new_team_id)))
                continue
            if transition.team_changed and transition.is_active and not transition.is_new \
                    and transition.new_team_id in process_teams and transition.new_stage_id:
                transfers.append(transition)
        if transfers:
            self._get_transfer_problems(transfers, rules, problems)
        restored = [t for t in concerned if t.kind == RESTORED and t.is_stage_move and not t.team_changed
                    and t.old_stage_id in stage_rules and t.new_stage_id in stage_rules
                    and stage_rules[t.old_stage_id].mandatory_item_ids
                    and self._is_forward(rules, t.old_stage_id, t.new_stage_id)]
        if restored:
            self._get_restore_problems(restored, problems)
        return problems

    def _get_transfer_problems(self, transfers, rules, problems):
        """A lead entering a configured pipeline from another one (or from none) starts in its
        first stage when the pipeline does not allow skipping, and cannot enter further on than
        the open mandatory items it left in the pipeline's earlier stages (``rules``: the process
        rules, ``crm.stage._get_process_rules``)."""
        Stage, Team = self.env["crm.stage"], self.env["crm.team"]
        for transition in transfers:
            policy = rules.teams.get(transition.new_team_id)
            first = self._get_pipeline_first_stage_id(rules, transition.new_team_id)
            if policy and not policy.allow_skip_stages and not rules.stages[transition.new_stage_id].is_won \
                    and first and transition.new_stage_id != first:
                problems[transition.lead].append(_(
                    "Pipeline “%(team)s” does not allow skipping stages: a lead coming from another pipeline "
                    "starts in “%(first)s”.", team=Team.browse(transition.new_team_id).name,
                    first=Stage.browse(first).display_name))
        # the mandatory items left open in the pipeline's stages before the one entered (those the
        # transfer out cancelled count as the open ones they were)
        open_lines = defaultdict(list)
        for line in self.env["crm.lead.checklist.line"].sudo().search_fetch([
            ("lead_id", "in", [t.lead.id for t in transfers]),
            ("state", "in", ("open", "waiting", "cancelled")), ("is_mandatory", "=", True),
        ], ["lead_id", "stage_id", "name"]):
            open_lines[line.lead_id.id].append(line)
        for transition in transfers:
            new = transition.new_stage_id
            before = [
                line for line in open_lines.get(transition.lead.id, ())
                if line.stage_id.id != new and self._is_pipeline_stage(rules, line.stage_id.id, transition.new_team_id)
                and self._is_forward(rules, line.stage_id.id, new)
            ]
            for stage, lines in self.env["crm.lead.checklist.line"].concat(*before).grouped("stage_id").items():
                problems[transition.lead].append(_(
                    "Cannot enter “%(stage)s” with the open mandatory items of “%(old)s”: %(items)s.",
                    stage=Stage.browse(new).display_name, old=stage.display_name,
                    items=", ".join(lines.mapped("name"))))

    def _get_restore_problems(self, restored, problems):
        """Restoring into a later stage leaves the stage the lead was lost in: its mandatory items
        the loss cancelled block it as the open ones they were."""
        cancelled = defaultdict(list)
        for line in self.env["crm.lead.checklist.line"].sudo().search_fetch([
            ("lead_id", "in", [t.lead.id for t in restored]),
            ("stage_id", "in", list({t.old_stage_id for t in restored})),
            ("state", "=", "cancelled"), ("is_mandatory", "=", True),
        ], ["lead_id", "stage_id", "name"]):
            cancelled[line.lead_id.id, line.stage_id.id].append(line.name)
        Stage = self.env["crm.stage"]
        for transition in restored:
            names = cancelled.get((transition.lead.id, transition.old_stage_id))
            if names:
                problems[transition.lead].append(_(
                    "Cannot leave “%(stage)s” with open mandatory items: %(items)s.",
                    stage=Stage.browse(transition.old_stage_id).display_name, items=", ".join(names)))
