"""The stage checklist of a lead: entering a stage gives the lead the stage's items as
``crm.lead.checklist.line`` and schedules their activities (through ``mail.activity.create``);
open mandatory items block leaving the stage forward. Both in the transition's steps (see
``crm_lead.py``); the lines guard their own state (``crm_lead_checklist_line.py``)."""

from collections import defaultdict

from markupsafe import escape

from odoo import _, api, fields, models

from ..tools.stage_transition import LOST, RESTORED, TRANSFERRED


class CrmLead(models.Model):
    _inherit = "crm.lead"

    checklist_line_ids = fields.One2many("crm.lead.checklist.line", "lead_id", string="Checklist")
    # counts of one lead: no sum in the kanban's column headers and reports
    checklist_mandatory_total = fields.Integer(
        "Mandatory Items", compute="_compute_checklist_progress", store=True, aggregator=None)
    checklist_mandatory_done = fields.Integer(
        "Mandatory Items Done", compute="_compute_checklist_progress", store=True, aggregator=None)
    checklist_progress = fields.Float(
        compute="_compute_checklist_progress", store=True, aggregator="avg",
        help="Share of the current stage's mandatory checklist items that are done or skipped (%).")
    # "Move to Stage" dialog: open (or waiting) mandatory items of the current stage
    stage_move_line_ids = fields.Many2many(
        "crm.lead.checklist.line", string="Open Mandatory Items", compute="_compute_stage_move_line_ids")

    @api.depends("stage_id", "checklist_line_ids.state", "checklist_line_ids.stage_id",
                 "checklist_line_ids.is_mandatory")
    def _compute_checklist_progress(self):
        # saved leads: counted in one grouped read (a mass move recomputes thousands of leads with
        # their lines); leads being edited in a form (new records) from their lines in memory
        # only stages with mandatory items have progress: none to count in pipelines nobody configured
        rules = self.env["crm.stage"]._get_process_rules()
        saved = self.filtered(lambda lead: isinstance(lead.id, int)
                              and rules.stage(lead.stage_id.id).mandatory_item_ids)
        counts = defaultdict(lambda: [0, 0])  # (lead id, stage id): [mandatory lines, done or skipped]
        if saved:
            for lead, stage, state, count in self.env["crm.lead.checklist.line"].sudo()._read_group(
                    [("lead_id", "in", saved.ids), ("is_mandatory", "=", True)],
                    ["lead_id", "stage_id", "state"], ["__count"]):
                counts[lead.id, stage.id][0] += count
                if state in ("done", "skipped"):
                    counts[lead.id, stage.id][1] += count
        for lead in self:
            if isinstance(lead.id, int) or not lead.checklist_line_ids:
                total, done = counts.get((lead.id, lead.stage_id.id), (0, 0))
            else:
                lines = lead.checklist_line_ids.filtered(
                    lambda line, stage=lead.stage_id: line.is_mandatory and line.stage_id == stage)
                total, done = len(lines), len(lines.filtered(lambda line: line.state in ("done", "skipped")))
            lead.checklist_mandatory_total = total
            lead.checklist_mandatory_done = done
            lead.checklist_progress = 100.0 * done / total if total else 0.0

    @api.depends("stage_id", "checklist_line_ids.state")
    def _compute_stage_move_line_ids(self):
        for lead in self:
            lead.stage_move_line_ids = lead.checklist_line_ids.filtered(
                lambda line, stage=lead.stage_id: line.stage_id == stage and line.is_mandatory
                and line.state in ("open", "waiting"))

    @api.model
    def _get_process_computed_fields(self):
        return super()._get_process_computed_fields() | {
            "checklist_mandatory_total", "checklist_mandatory_done", "checklist_progress"}

    # ------------------------------------------------------------
    # TRANSITION: check
    # ------------------------------------------------------------

    def _get_stage_transition_problems(self, transitions):
        """Open mandatory items, and waiting ones, block leaving a stage forward (to a later stage,
        or won); a transfer leaves the pipeline, no move forward in it."""
        problems = super()._get_stage_transition_problems(transitions)
        rules = self.env["crm.stage"]._get_process_rules()
        leaving = [
            t for t in transitions
            if t.is_stage_move and not t.team_changed and t.old_stage_id in rules.stages
            and t.new_stage_id in rules.stages
            and rules.stages[t.old_stage_id].mandatory_item_ids
            and self._is_forward(rules, t.old_stage_id, t.new_stage_id)
        ]
        if not leaving:
            return problems
        open_lines = defaultdict(list)
        for line in self.env["crm.lead.checklist.line"].sudo().search_fetch([
            ("lead_id", "in", [t.lead.id for t in leaving]),
            ("stage_id", "in", list({t.old_stage_id for t in leaving})),
            ("state", "in", ("open", "waiting")), ("is_mandatory", "=", True),
        ], ["lead_id", "stage_id", "name", "state"]):
            open_lines[line.lead_id.id, line.stage_id.id].append(
                line.name if line.state == "open" else _("%(item)s (waiting)", item=line.name))
        for transition in leaving:
            names = open_lines.get((transition.lead.id, transition.old_stage_id))
            if names:
                problems[transition.lead].append(_(
                    "Cannot leave “%(stage)s” with open mandatory items: %(items)s.",
                    stage=transition.lead.env["crm.stage"].browse(transition.old_stage_id).display_name,
                    items=", ".join(names)))
        return problems

    # ------------------------------------------------------------
    # TRANSITION: apply
    # ------------------------------------------------------------

    def _apply_transition_checklist(self, transitions):
        rules = self.env["crm.stage"]._get_process_rules()
        lost = [t.lead.id for t in transitions if t.kind == LOST and t.was_active]
        if lost:
            self._checklist_cancel_open_lines(lost)
        transferred = [t.lead.id for t in transitions if t.kind == TRANSFERRED and t.is_active]
        if transferred:
            self.browse(transferred)._checklist_cancel_transferred_lines()
        restored = [t.lead.id for t in transitions if t.kind == RESTORED]
        if restored:
            self._checklist_reopen_cancelled_lines(restored)
        entering = [t for t in transitions if t.enters_stay and rules.stage(t.new_stage_id).item_ids]
        if entering:
            self._checklist_enter_stages(entering, rules)

    def _checklist_cancel_open_lines(self, lead_ids):
        """A lost lead's open and waiting items are cancelled with it (Odoo deletes its
        activities): no one is left with work on a deal that is over."""
        lines = self.env["crm.lead.checklist.line"].sudo().search(
            [("lead_id", "in", lead_ids), ("state", "in", ("open", "waiting"))])
        if lines:
            lines.write({"state": "cancelled"})

    def _checklist_cancel_transferred_lines(self):
        """A lead transferred to another pipeline leaves the items of its old pipeline's stages:
        those open or waiting are cancelled, the transfer as their reason (nobody outside sales
        keeps working on a lead that left their process). Entering one of those stages again
        reopens them (``_checklist_enter_stages``)."""
        lines = self.env["crm.lead.checklist.line"].sudo().search(
            [("lead_id", "in", self.ids), ("state", "in", ("open", "waiting"))])
        for lead in self:
            left = lines.filtered(lambda line, lead=lead: line.lead_id == lead
                                  and line.stage_id.team_id not in (lead.team_id, line.stage_id.browse()))
            if left:
                left.write({"state": "cancelled", "skip_reason": self.env._(
                    "Transferred to the pipeline “%(team)s”", team=lead.team_id.display_name)})

    def _checklist_reopen_cancelled_lines(self, lead_ids, stage_by_lead=None):
        """A restored lead's cancelled items of its pipeline are open again, with new activities
        due as if the lead entered their stage now; those waiting for items not done yet wait
        again. Items a transfer cancelled in another pipeline stay cancelled.

        :param stage_by_lead: {lead id: stage id}: only the lines of that stage (a stage entered
            again)"""
        Line = self.env["crm.lead.checklist.line"].sudo()
        lines = Line.search([("lead_id", "in", lead_ids), ("state", "=", "cancelled")])
        if stage_by_lead is not None:
            lines = lines.filtered(lambda line: stage_by_lead.get(line.lead_id.id) == line.stage_id.id)
        else:
            lines = lines.filtered(lambda line: line.stage_id.team_id in (line.lead_id.team_id, line.stage_id.browse()))
        lines.write({"skip_reason": False})
        if not lines:
            return
        prerequisites = self.env["crm.stage"]._get_process_rules().item_prerequisites
        states = Line._get_item_states(
            lead_ids, {item_id for line in lines for item_id in prerequisites.get(line.item_id.id, ())})
        ready = lines.filtered(lambda line: Line._is_ready(line.lead_id.id, line.item_id.id, states, prerequisites))
        (lines - ready).write({"state": "waiting"})
        ready._start()

    def _checklist_enter_stages(self, transitions, rules):
        """Give the leads the checklist of the stage they entered (the lines they do not have
        yet: re-entering a stage keeps its lines as they were, but for the items to do again on each
        entry, which reopen) and schedule an activity for each
        item's responsible, in batch: ``mail.activity.create`` inserts them 100 a query, and
        the other modules' overrides of it see every one. Several leads at once (a mass move, an
        import) notify nobody by email (``mail_activity_quick_update``, as Odoo's own batch
        schedulers); the activities show in each assignee's "My Activities" (``rules``: the process
        rules, ``crm.stage._get_process_rules``)."""
        Line = self.env["crm.lead.checklist.line"].sudo()
        item_ids = [item_id for t in transitions for item_id in rules.stages[t.new_stage_id].item_ids]
        items = self.env["crm.stage.checklist.item"].sudo().browse(dict.fromkeys(item_ids))
        existing = {}  # (lead id, item id): (state, name) of the lines the leads have already
        moved = [t.lead.id for t in transitions if t.old_stage_id or t.was_active != t.is_active]
        if moved:
            existing = Line._get_item_states(moved, items.ids)
        prerequisites = rules.item_prerequisites
        now = self.env.cr.now()
        deadlines = {item: item._get_deadline(now) for item in items}
        items_by_stage = defaultdict(list)
        for item in items:
            items_by_stage[item.stage_id.id].append(item)
        responsibles = {}  # (item, salesperson id, team leader id): responsible id
        rows = []  # (lead, item, responsible id)
        # items go to internal users only: a salesperson or leader who is a portal user gets none
        owner_ids = {user_id for t in transitions for user_id in (t.lead.user_id.id, t.lead.team_id.user_id.id)}
        internal_ids = set(self.env["res.users"].sudo().browse(owner_ids - {False}).filtered(
            lambda user: not user.share).ids)
        for transition in transitions:
            lead = transition.lead
            owners = tuple(user_id if user_id in internal_ids else False
                           for user_id in (lead.user_id.id, lead.team_id.user_id.id))
            for item in items_by_stage[transition.new_stage_id]:
                if (lead.id, item.id) in existing:
                    continue
                key = (item, *owners)
                if key not in responsibles:
                    responsibles[key] = item._get_responsible_id(*owners)
                rows.append((lead, item, responsibles[key]))
        if rows:
            self._checklist_create_lines(rows, existing, prerequisites, deadlines)
        # coming back from another stage: the items to do again on each entry, done or skipped, reopen
        repeated = [
            (transition.lead.id, item.id) for transition in transitions
            if transition.old_stage_id and transition.stage_changed
            for item in items_by_stage[transition.new_stage_id]
            if item.repeat_on_entry and existing.get((transition.lead.id, item.id), ("",))[0] in ("done", "skipped")
        ]
        if repeated:
            self._checklist_repeat_lines(repeated, prerequisites)
        # entering a stage whose items a transfer (or a loss) cancelled: they are to do again
        cancelled = {
            transition.lead.id: transition.new_stage_id for transition in transitions
            if transition.is_active and any(
                existing.get((transition.lead.id, item.id), ("",))[0] == "cancelled"
                for item in items_by_stage[transition.new_stage_id])
        }
        if cancelled:
            self._checklist_reopen_cancelled_lines(list(cancelled), stage_by_lead=cancelled)
        # (every waiting line: one whose items before were archived or deleted meanwhile waits for nothing)
        waited_item_ids = [item_id for (__, item_id), (state, __) in existing.items() if state == "waiting"]
        if waited_item_ids:
            # re-entering: the lines kept waiting start if what they wait for was done meanwhile
            Line._start_ready_lines({lead_id for lead_id, __ in existing}, waited_item_ids)

    def _checklist_repeat_lines(self, keys, prerequisites):
        """The lead came back to the stage: the lines of these (lead id, item id), done or skipped, are
        to do again (``crm.lead.checklist.line._reopen``: a new activity, due from now, the steps after
        them waiting again), or wait again while an item they wait for is not done."""
        Line = self.env["crm.lead.checklist.line"].sudo()
        keys = set(keys)
        lead_ids, item_ids = {lead_id for lead_id, __ in keys}, {item_id for __, item_id in keys}
        lines = Line.search([("lead_id", "in", list(lead_ids)), ("item_id", "in", list(item_ids))]).filtered(
            lambda line: (line.lead_id.id, line.item_id.id) in keys)
        waited_ids = {item_id for __, item_id in keys for item_id in prerequisites.get(item_id, ())}
        states = Line._get_item_states(lead_ids, waited_ids) if waited_ids else {}
        states.update({key: ("open", "") for key in keys})
        ready = lines.filtered(lambda line: Line._is_ready(line.lead_id.id, line.item_id.id, states, prerequisites))
        if lines - ready:
            (lines - ready).write({"state": "waiting"})
            (lines - ready)._wait_again_next_lines()
        ready._reopen()

    def _checklist_create_lines(self, rows, existing, prerequisites, deadlines):
        """Create the lines of these (lead, item, responsible id) rows: open with their activities,
        or waiting for the items before them."""
        Line = self.env["crm.lead.checklist.line"].sudo()
        # a new line waits while a line of an item before it is not done or skipped (a new one is not)
        states = {**existing, **{(lead.id, item.id): ("open", item.name) for lead, item, __ in rows}}
        waiting = {
            (lead.id, item.id) for lead, item, __ in rows
            if item.id in prerequisites and not Line._is_ready(lead.id, item.id, states, prerequisites)
        }
        activity_ids = self._checklist_schedule_activities(
            [row for row in rows if row[1].activity_type_id and (row[0].id, row[1].id) not in waiting], deadlines)
        lines = Line.create([{
            "lead_id": lead.id,
            "stage_id": item.stage_id.id,
            "item_id": item.id,
            "name": item.name,
            "description": item.description,
            "sequence": item.sequence,
            "is_mandatory": item.is_mandatory,
            "needs_attachment": item.needs_attachment,
            "completer_type": item.completer_type,
            "completer_user_id": item.completer_type == "user" and item.completer_user_id.id,
            "completer_group_id": item.completer_type == "group" and item.completer_group_id.id,
            "user_id": user_id,
            **({"state": "waiting", "date_deadline": False} if (lead.id, item.id) in waiting else {
                "date_deadline": deadlines[item],
                "activity_id": activity_ids.get((lead.id, item.id), False),
            }),
        } for lead, item, user_id in rows])
        lines._copy_template_translations()

    def _checklist_schedule_activities(self, rows, deadlines):
        """Schedule the items' activities through ``mail.activity.create``, in batch.

        :param rows: [(lead, item, responsible id)] of items with an activity type
        :param deadlines: {item: due date}
        :return: {(lead id, item id): activity id}
        """
        if not rows:
            return {}
        # the assignees follow the leads first, one call per assignee: mail.activity.create
        # subscribes each assignee to the list of its activities' records, which repeats a lead
        # given several items of one assignee (and the followers' insert would fail on the repeat)
        lead_ids_by_user = defaultdict(set)
        for lead, __, user_id in rows:
            lead_ids_by_user[user_id].add(lead.id)
        Users = self.env["res.users"].sudo()
        self._checklist_subscribe_assignees(lead_ids_by_user)
        Activity = self.env["mail.activity"]
        if len({lead.id for lead, __, __ in rows}) > 1:
            Activity = Activity.with_context(mail_activity_quick_update=True)
        # the title and note in the assignee's language (one read of the items per language)
        langs = {user.id: user.lang or "en_US" for user in Users.browse(list(lead_ids_by_user))}
        texts = {}
        for lang in set(langs.values()):
            for item in {item for __, item, __ in rows}:
                item_lang = item.with_context(lang=lang)
                texts[item, lang] = (item_lang.name, item_lang.description)
        activities = Activity.create([{
            "res_model_id": self.env["ir.model"]._get_id(self._name),
            "res_id": lead.id,
            "activity_type_id": item.activity_type_id.id,
            "summary": texts[item, langs[user_id]][0],
            "note": escape(texts[item, langs[user_id]][1]) if item.description else False,
            "date_deadline": deadlines[item],
            "user_id": user_id,
        } for lead, item, user_id in rows])
        return dict(zip(((lead.id, item.id) for lead, item, __ in rows), activities.ids, strict=True))

    @api.model
    def _checklist_subscribe_assignees(self, lead_ids_by_user):
        """Make the assignees of the items follow their leads, before their activities do (one call
        per assignee): those who may read a lead with the default subtypes, those who may not (an
        engineer without CRM rights) with the "Checklist Item" subtype only, which carries nothing:
        they read their item and its activity, not the lead's later discussion. Odoo's activities
        then find them following already and leave their subtypes alone.

        :param lead_ids_by_user: {user id: ids of leads}
        """
        Users = self.env["res.users"].sudo()
        subtype = self.env.ref("sales_process_stages.mt_checklist_item", raise_if_not_found=False)
        for user_id, lead_ids in lead_ids_by_user.items():
            user = Users.browse(user_id)
            leads = self.browse(list(lead_ids))
            as_user = leads.with_user(user)
            if as_user.has_access("read") or not subtype:
                readers = leads
            else:
                readers = leads.filtered(lambda lead, user=user: lead.with_user(user).has_access("read"))
            if readers:
                readers.sudo().message_subscribe(partner_ids=user.partner_id.ids)
            if leads - readers:
                (leads - readers).sudo().message_subscribe(partner_ids=user.partner_id.ids, subtype_ids=subtype.ids)
