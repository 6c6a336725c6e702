"""Entry requirements and move policy: what a lead needs to enter a stage (fields, a planned
activity) and how its pipeline lets it move (skip stages, move back, win from some stages only).
Checked in the transition's check step (see ``crm_lead.py``)."""

import logging

from lxml import etree

from odoo import _, api, fields, models, tools
from odoo.exceptions import RedirectWarning, UserError


class CrmLead(models.Model):
    _inherit = "crm.lead"

    # Fields the current stage requires to enter it, as ",name,name,": the form marks them required
    # while the lead is created there (what the server checks of the lead where it is)
    stage_required_fields = fields.Char("Required Fields", compute="_compute_stage_required_fields")
    # the next stage's requirements, as a hint beside the stage bar (the server checks them on the move)
    stage_next_requirements = fields.Char("To Enter the Next Stage", compute="_compute_stage_required_fields")
    # Pipelines using their own stages only: the status bar offers no shared stage
    team_own_stages_only = fields.Boolean(related="team_id.own_stages_only", string="Pipeline Uses Own Stages Only")

    # the pipeline wins its deals from some stages only (``crm.team.won_from_stage_ids``): the form
    # offers "Won" only there (the server refuses it elsewhere, on every path)
    can_win = fields.Boolean("Can Be Won From Its Stage", compute="_compute_can_win")

    @api.depends("stage_id", "team_id")
    def _compute_can_win(self):
        rules = self.env["crm.stage"]._get_process_rules()
        for lead in self:
            policy = rules.teams.get(lead.team_id.id)
            lead.can_win = not (policy and policy.won_from_stage_ids) or lead.stage_id.id in policy.won_from_stage_ids

    @api.depends("stage_id", "team_id")
    def _compute_stage_required_fields(self):
        rules = self.env["crm.stage"]._get_process_rules()
        next_stages = {}
        for lead in self:
            current = rules.stages.get(lead.stage_id.id)
            names = current.required_fields if current else ()
            lead.stage_required_fields = f",{','.join(names)}," if names else False
            next_stage = lead._get_next_stage_id(rules, next_stages) if current else False
            lead.stage_next_requirements = lead._get_stage_requirements_hint(rules, next_stage) if next_stage else False

    def _get_stage_requirements_hint(self, rules, stage_id):
        """“To enter “Meeting”: Contact, Phone, a planned activity.”, or False when it needs nothing
        (``rules``: the process rules, ``crm.stage._get_process_rules``)."""
        stage_rules = rules.stages[stage_id]
        labels = self._get_stage_field_labels(frozenset(stage_rules.required_fields))
        needs = [text for __, text in sorted(labels.values())]
        if stage_rules.require_next_activity:
            needs.append(_("a planned next activity"))
        if not needs:
            return False
        return _("To enter “%(stage)s”: %(needs)s.", stage=self.env["crm.stage"].browse(stage_id).name,
                 needs=", ".join(needs))

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.model
    def _read_group_stage_ids(self, stages, domain):
        """Columns of the board: a pipeline using its own stages only shows no shared stage
        (unless a lead of the board is in it)."""
        columns = super()._read_group_stage_ids(stages, domain)
        team_id = self.env.context.get("default_team_id")
        if team_id in self.env["crm.stage"]._get_process_rules().own_stages_teams:
            columns = columns.filtered(lambda stage: stage.team_id or stage in stages)
        return columns

    def _stage_find(self, team_id=False, domain=None, order="sequence, id", limit=1):
        """Pipelines using their own stages only find their stages among their own (a new lead's stage,
        the won stage of ``action_set_won``, the first stage after a transfer)."""
        team_ids = {team_id} if team_id else set()
        team_ids.update(self.team_id.ids)
        own_stages_teams = self.env["crm.stage"]._get_process_rules().own_stages_teams
        if not team_ids or not team_ids <= own_stages_teams:
            return super()._stage_find(team_id=team_id, domain=domain, order=order, limit=limit)
        return self.env["crm.stage"].search(
            [("team_id", "in", list(team_ids)), *(domain or [])], order=order, limit=limit)

    def web_save(self, vals, specification, next_id=None):
        """The web client's save (a kanban drop, a status-bar click, the form's Save): a stage move
        of one lead that the gate refuses offers the "Move to Stage" dialog for that stage, which
        asks for what is missing. The refusal is the same (RPC, imports and batch writes get the
        plain ``ValidationError``); nothing is written."""
        try:
            return super().web_save(vals, specification, next_id=next_id)
        except UserError as refusal:
            stage_id = vals.get("stage_id")
            if len(self) != 1 or not isinstance(stage_id, int) or isinstance(stage_id, bool) \
                    or not self.active or stage_id == self.stage_id.id:
                raise
            offer = RedirectWarning(
                refusal.args[0], "sales_process_stages.crm_lead_action_server_stage_move", _("Complete and Move"),
                {"active_model": self._name, "active_id": self.id, "active_ids": self.ids,
                 "default_stage_id": stage_id})
            # logged by Odoo's HTTP layer as the refusal it is (a warning, as a ValidationError), not as an error
            offer.loglevel = logging.WARNING
            raise offer from refusal

    @api.model
    def _get_view(self, view_id=None, view_type="form", **options):
        """Mark, in forms, the fields the stage requires as required while the lead is created in it
        (the create's check); the next stage's requirements are a hint (``stage_next_requirements``)."""
        arch, view = super()._get_view(view_id, view_type, **options)
        if view_type != "form":
            return arch, view
        rules = self.env["crm.stage"]._get_process_rules()
        required = {name for stage in rules.stages.values() for name in stage.required_fields}
        if not required:
            return arch, view
        marked = False
        for node in arch.xpath("//field[not(ancestor::field)]"):
            name = node.get("name")
            if name not in required:
                continue
            condition = f"(not id and ',{name},' in (stage_required_fields or ''))"
            if node.get("required") not in (None, "0", "False"):
                condition = f"({node.get('required')}) or {condition}"
            node.set("required", condition)
            marked = True
        if marked and not arch.xpath("//field[@name='stage_required_fields'][not(ancestor::field)]"):
            sheet = (arch.xpath("//sheet") or [arch])[0]
            sheet.append(etree.Element("field", name="stage_required_fields", invisible="1"))
        return arch, view

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_open_stage_move(self, stage_id=False):
        """Open the "Move to Stage" wizard (to the next stage, or to ``stage_id``), saved before it
        opens: the items ticked in it are rows of a saved dialog, which stays open."""
        self.ensure_one()
        vals = {"lead_id": self.id}
        if stage_id:
            vals["stage_id"] = stage_id
        return self.env["crm.lead.stage.move"].create(vals)._action_reopen()

    # ------------------------------------------------------------
    # TRANSITION: check
    # ------------------------------------------------------------

    def _get_stage_transition_problems(self, transitions):
        problems = super()._get_stage_transition_problems(transitions)
        rules = self.env["crm.stage"]._get_process_rules()
        stage_rules = rules.stages
        # entering a stage: created in it, written into it (a restore without a stage returns to
        # the stage the lead was lost in), or brought into another pipeline
        entering = [t for t in transitions if t.enters_stage and t.new_stage_id in stage_rules]
        if not entering:
            return problems
        Stage = self.env["crm.stage"]
        names = {}

        def stage_name(stage_id):
            # read for a refused move only, the stages of the batch at once
            if not names:
                stage_ids = {s for t in entering for s in (t.old_stage_id, t.new_stage_id) if s}
                names.update((stage.id, stage.display_name) for stage in Stage.browse(stage_ids))
            return names.get(stage_id) or Stage.browse(stage_id).display_name

        labels = {}  # field name: (its place in the form, its label there), read for a refused move only

        def label(name):
            if not labels:
                labels.update(self._get_stage_field_labels(frozenset(
                    f for t in entering for f in stage_rules[t.new_stage_id].required_fields)))
            return labels[name]

        needs_activity = [t.lead for t in entering if stage_rules[t.new_stage_id].require_next_activity]
        planned = self._get_planned_next_activity_leads(needs_activity) if needs_activity else set()
        next_stages = {}
        for transition in entering:
            lead, old, new = transition.lead, transition.old_stage_id, transition.new_stage_id
            new_rules = stage_rules[new]
            # pipeline policy, the pipeline the lead ends up in: winning from some stages only (a new
            # lead, or one coming from another pipeline, is not won where the pipeline wins from
            # some stages only); skipping stages and moving back within the pipeline (a new lead
            # may start in any stage; a transfer's own rules are in crm_lead_pipeline.py)
            policy = rules.teams.get(transition.new_team_id)
            team = self.env["crm.team"].browse(transition.new_team_id)
            won_from = policy.won_from_stage_ids if policy else ()
            if won_from and new_rules.is_won and old not in won_from:
                problems[lead].append(_(
                    "Pipeline “%(team)s” allows winning only from %(stages)s.",
                    team=team.name, stages=", ".join(Stage.browse(won_from).mapped("display_name"))))
            if policy and not transition.team_changed and old in stage_rules and not new_rules.is_won:
                allow_skip, allow_back = policy.allow_skip_stages, policy.allow_move_back
                forward = self._is_forward(rules, old, new)
                if not allow_back and not forward:
                    problems[lead].append(_(
                        "Pipeline “%(team)s” does not allow moving back from “%(old)s” to “%(new)s”.",
                        team=team.name, old=stage_name(old), new=stage_name(new)))
                elif not allow_skip and forward and new != lead._get_next_stage_id(rules, next_stages):
                    problems[lead].append(_(
                        "Pipeline “%(team)s” does not allow skipping stages: from “%(old)s” the next stage "
                        "is “%(next)s”.", team=team.name, old=stage_name(old),
                        next=Stage.browse(lead._get_next_stage_id(rules, next_stages)).display_name))
            # fields required to enter, with the values the lead will have
            missing = [
                text for __, text in sorted(
                    label(name) for name in new_rules.required_fields
                    if lead._is_stage_value_missing(name, transition.vals))
            ]
            if new_rules.require_next_activity and lead.id not in planned:
                missing.append(_("a planned next activity"))
            if missing:
                problems[lead].append(_(
                    "Cannot enter “%(stage)s” without %(fields)s.",
                    stage=stage_name(new), fields=", ".join(missing)))
        return problems

    @api.model
    @tools.ormcache("self.env.lang", "names")
    def _get_stage_field_labels(self, names):
        """{field name: (rank, label)} of ``names`` (a frozenset), fields the stages require, as the
        lead's form shows them to the user (its ``string`` there: "Contact", not the field's "Customer"), in the form's
        order (rank); a field the form does not show comes last, with its own label."""
        arch = etree.fromstring(self.get_views([(False, "form")])["views"]["form"]["arch"])
        found = {}
        for rank, node in enumerate(arch.iter("field", "label")):
            name = node.get("name") if node.tag == "field" else node.get("for")
            if name not in names or any(parent.tag == "field" for parent in node.iterancestors()):
                continue  # not a field of the lead (a field of a list inside the form)
            rank_now, text = found.get(name, (rank, None))
            found[name] = (rank_now, text or node.get("string"))
        descriptions = self.fields_get(list(names), ["string"])
        return {
            name: (found.get(name, (float("inf"), None))[0],
                   found.get(name, (None, None))[1] or descriptions[name]["string"])
            for name in names
        }

    def _get_planned_next_activity_leads(self, leads):
        """Ids of the leads with a planned next activity (``_get_planned_next_activity_domain``) due
        today or later (one query for the batch)."""
        leads = self.browse([lead.id for lead in leads])
        if not leads:
            return set()
        activities = self.env["mail.activity"].sudo().search_fetch(
            [*leads._get_planned_next_activity_domain(),
             ("date_deadline", ">=", fields.Date.context_today(self))], ["res_id"])
        return set(activities.mapped("res_id"))

    def _is_stage_value_missing(self, name, vals):
        """Whether field ``name`` is empty once ``vals`` are written: zero, empty and false are
        missing, and an amount must be above zero."""
        self.ensure_one()
        field = self._fields[name]
        if name in vals:
            value = field.convert_to_record(field.convert_to_cache(vals[name], self), self)
        else:
            value = self[name]
        if field.type == "monetary":
            return not value or value <= 0
        if isinstance(value, str):
            return not value.strip()
        return not value

    # ------------------------------------------------------------
    # BUSINESS: the pipeline's order of stages
    # ------------------------------------------------------------

    def _get_next_stage_id(self, rules, memo=None):
        """Id of the stage following the lead's stage in its pipeline (won stages excluded).

        :param rules: the process rules (``crm.stage._get_process_rules``)
        :param memo: a dict the calls of one batch share, {(stage id, team id): next stage id}: the
            stages are scanned once per stage and pipeline, not once per lead"""
        self.ensure_one()
        memo_key = (self.stage_id.id, self.team_id.id)
        if memo is not None and memo_key in memo:
            return memo[memo_key]
        current = rules.stages.get(self.stage_id.id)
        next_stage_id = False
        if current:
            key = (current.sequence, self.stage_id.id)
            own_only = self.team_id.id in rules.own_stages_teams
            pipeline = (self.team_id.id,) if own_only else (False, self.team_id.id)
            candidates = [
                (rule.sequence, stage_id) for stage_id, rule in rules.stages.items()
                if rule.team_id in pipeline and not rule.is_won
                and (rule.sequence, stage_id) > key
            ]
            next_stage_id = min(candidates)[1] if candidates else False
        if memo is not None:
            memo[memo_key] = next_stage_id
        return next_stage_id

    @api.model
    def _is_forward(self, rules, old, new):
        """Whether a move from stage ``old`` to stage ``new`` goes forward: into a won stage from an
        open one, or to a later stage in the order of the stages (``rules``: the process rules,
        ``crm.stage._get_process_rules``, knowing both stages)."""
        if not old or not new:
            return False
        old_rules, new_rules = rules.stages[old], rules.stages[new]
        if new_rules.is_won and not old_rules.is_won:
            return True
        return (new_rules.sequence, new) > (old_rules.sequence, old)

