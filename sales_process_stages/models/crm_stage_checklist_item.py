from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..tools import bounds


class CrmStageChecklistItem(models.Model):
    _name = "crm.stage.checklist.item"
    _inherit = ["sales.process.cache.mixin"]
    _description = "Stage Checklist Item"
    _order = "stage_id, sequence, id"

    name = fields.Char("Item", required=True, translate=True)
    description = fields.Text(translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    stage_id = fields.Many2one("crm.stage", required=True, ondelete="cascade", index=True)
    is_mandatory = fields.Boolean(
        "Mandatory", default=True,
        help="An open mandatory item blocks leaving the stage forward. Optional items may be skipped.")
    # who and when
    responsible_type = fields.Selection(
        [("salesperson", "Salesperson of the lead"),
         ("team_leader", "Team leader"),
         ("user", "Specific user")],
        string="Responsible", required=True, default="salesperson")
    responsible_user_id = fields.Many2one(
        "res.users", domain="[('share', '=', False)]",
        help="Anyone in the company, also outside sales: an engineer, an analyst.")
    # who may complete it (an approval), as base_tier_validation names its reviewers: a user, a
    # group, or a role on the record
    completer_type = fields.Selection(
        [("assignee", "Whoever works on the lead"),
         ("user", "Specific user"),
         ("team_leader", "Team leader"),
         ("group", "Members of a group")],
        string="Completed By", required=True, default="assignee",
        help="Who may mark the item done or skip it. Whoever works on the lead: its responsible, the "
        "lead's salesperson, a sales manager. Otherwise only the named user, the pipeline's team leader or "
        "the group's members (an approval): nobody else ticks it, nor takes it over; a sales manager may "
        "still force the lead's move.")
    completer_user_id = fields.Many2one(
        "res.users", string="Completing User", domain="[('share', '=', False)]", ondelete="restrict")
    completer_group_id = fields.Many2one("res.groups", string="Completing Group", ondelete="restrict")
    due_offset = fields.Integer(
        "Due After", default=1, help="Time after entering the stage when the item is due.")
    due_offset_unit = fields.Selection(
        [("hours", "Hours"), ("days", "Days")], string="Due Unit", required=True, default="days")
    activity_type_id = fields.Many2one(
        "mail.activity.type", ondelete="restrict",
        default=lambda self: self.env.ref("mail.mail_activity_data_todo", raise_if_not_found=False),
        domain="[('res_model', 'in', (False, 'crm.lead'))]",
        help="Entering the stage schedules an activity of this type for the responsible. "
        "Leave empty to track the item on the checklist only.")
    needs_attachment = fields.Boolean(
        "Needs an Attachment",
        help="The item is only done once a file is attached to it or to the lead after the lead entered the stage "
        "(e.g. the signed contract).")
    # steps in order: the item's activity is scheduled once the items it waits for are done or skipped
    depends_on_ids = fields.Many2many(
        "crm.stage.checklist.item", "crm_stage_checklist_item_depends_rel", "item_id", "depends_on_id",
        string="Starts After", copy=False, domain="[('stage_id', '=', stage_id), ('id', '!=', id)]",
        help="Items of the same stage this item waits for: entering the stage gives the lead the item as "
        "Waiting, with no activity; once every item it waits for is done or skipped, its activity is "
        "scheduled and its due delay counts from then.")
    # stages that run again: an item to do on each entry, a step that sends the lead back
    repeat_on_entry = fields.Boolean(
        "Again on Each Entry",
        help="Each time the lead comes back to the stage, this item is to do again, with a new activity (done "
        "or skipped, it reopens; the steps waiting for it wait again). The stage's other items keep their "
        "state.")
    send_back_item_id = fields.Many2one(
        "crm.stage.checklist.item", string="Sends Back To", ondelete="set null", copy=False,
        domain="[('stage_id', '=', stage_id), ('id', '!=', id)]",
        help="An earlier item of the same stage: when this step is rejected or needs changes (\"Needs "
        "Changes\" on the lead's item), that item and the done items after it are reopened, in order.")

    is_approval = fields.Boolean(
        "Approval",
        help="An approval: who may complete it (Completed By) approves or rejects it, a rejection with a reason "
        "kept on the lead's item and in its chatter; a rejection sends the lead back to the step it names "
        "(Sends Back To), or leaves the approval to do.")
    # a step that moves the lead: the signed contract wins the deal
    move_to_stage_id = fields.Many2one(
        "crm.stage", string="Moves the Lead To", ondelete="set null", copy=False, index="btree_not_null",
        help="When this item is done, the lead moves to this stage (e.g. the signed contract: Won), by the user "
        "who did it, through the same rules as any move: a move the rules refuse refuses the item too.")

    _sql_constraints = [
        ("due_offset_positive", "CHECK(due_offset >= 0)", "The due offset of a checklist item cannot be negative."),
    ]

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("due_offset", "due_offset_unit")
    def _check_due_offset(self):
        """An item is due at most ``bounds.CHECKLIST_DUE_MAX_DAYS`` days after it starts."""
        units = dict(self._fields["due_offset_unit"]._description_selection(self.env))
        for item in self:
            label = _("%(field)s of checklist item “%(item)s”",
                      field=self._fields["due_offset"]._description_string(self.env), item=item.name)
            bounds.check_duration(self.env, item.due_offset, item.due_offset_unit, label,
                                  bounds.CHECKLIST_DUE_MAX_DAYS, units[item.due_offset_unit], allow_zero=True)

    @api.constrains("name")
    def _check_name(self):
        for item in self:
            if not (item.name or "").strip():
                raise ValidationError(_("A checklist item needs a name."))

    @api.constrains("responsible_type", "responsible_user_id")
    def _check_responsible_user_id(self):
        for item in self:
            if item.responsible_type != "user":
                continue
            if not item.responsible_user_id:
                raise ValidationError(_(
                    "Checklist item “%(item)s” is assigned to a specific user: choose the user.", item=item.name))
            if not item.responsible_user_id.active:
                raise ValidationError(_(
                    "Checklist item “%(item)s” cannot be assigned to the archived user %(user)s.",
                    item=item.name, user=item.responsible_user_id.name))

    @api.constrains("responsible_user_id")
    def _check_responsible_user_internal(self):
        for item in self:
            if item.responsible_user_id.share:
                raise ValidationError(_(
                    "Checklist item “%(item)s” cannot be assigned to %(user)s: items are assigned to internal "
                    "users only.", item=item.name, user=item.responsible_user_id.name))

    @api.constrains("completer_type", "completer_user_id", "completer_group_id")
    def _check_completer(self):
        for item in self:
            if item.completer_type == "user":
                user = item.completer_user_id
                if not user:
                    raise ValidationError(_(
                        "Checklist item “%(item)s” is completed by a specific user: choose the user.",
                        item=item.name))
                if user.share or not user.active:
                    raise ValidationError(_(
                        "Checklist item “%(item)s” is completed by an active internal user, not by %(user)s.",
                        item=item.name, user=user.name))
            elif item.completer_type == "group" and not item.completer_group_id:
                raise ValidationError(_(
                    "Checklist item “%(item)s” is completed by the members of a group: choose the group.",
                    item=item.name))

    @api.constrains("depends_on_ids", "stage_id")
    def _check_depends_on_ids(self):
        """An item waits only for items of its own stage, and waits never go round in a circle
        (the lead would wait forever)."""
        for item in self:
            others = item.depends_on_ids.filtered(lambda other, item=item: other.stage_id != item.stage_id)
            waited_by_others = self.search([("depends_on_ids", "in", item.ids), ("stage_id", "!=", item.stage_id.id)])
            if others or waited_by_others:
                raise ValidationError(_(
                    "Checklist item “%(item)s” can only wait for items of its own stage “%(stage)s”: %(others)s.",
                    item=item.name, stage=item.stage_id.name,
                    others=", ".join((others | waited_by_others).mapped(
                        lambda other: f"{other.name} ({other.stage_id.name})"))))
        for item in self:
            cycle = item._get_depends_on_cycle()
            if cycle:
                raise ValidationError(_(
                    "Checklist items cannot wait for each other in a circle: %(cycle)s.",
                    cycle=" → ".join(cycle.mapped("name") + cycle[:1].mapped("name"))))

    @api.constrains("send_back_item_id", "stage_id")
    def _check_send_back_item_id(self):
        """A step sends the lead back to an earlier item of its own stage."""
        pointing = self | self.search([("send_back_item_id", "in", self.ids)])
        for item in pointing:
            target = item.send_back_item_id
            if target and (target.stage_id != item.stage_id
                           or (target.sequence, target.id) >= (item.sequence, item.id)):
                raise ValidationError(_(
                    "Checklist item “%(item)s” can only send the lead back to an earlier item of its own stage "
                    "“%(stage)s”, not to “%(target)s” (%(target_stage)s).",
                    item=item.name, stage=item.stage_id.name, target=target.name,
                    target_stage=target.stage_id.name))

    @api.constrains("move_to_stage_id", "stage_id")
    def _check_move_to_stage_id(self):
        """A step moves the lead to another stage of its pipeline (or a stage every pipeline shares)."""
        for item in self.filtered("move_to_stage_id"):
            target, stage = item.move_to_stage_id, item.stage_id
            if target == stage or (target.team_id and target.team_id != stage.team_id):
                raise ValidationError(_(
                    "Checklist item “%(item)s” can only move the lead to another stage of its pipeline, not to "
                    "“%(target)s”.", item=item.name, target=target.display_name))

    def _get_depends_on_cycle(self):
        """The items of a circle of waits through this item (in order, starting with it), or no item."""
        self.ensure_one()
        path = [self]
        seen = set()

        def visit(item):
            for prerequisite in item.depends_on_ids:
                if prerequisite == self:
                    return True
                if prerequisite.id in seen:
                    continue
                seen.add(prerequisite.id)
                path.append(prerequisite)
                if visit(prerequisite):
                    return True
                path.pop()
            return False

        return self.browse([item.id for item in path]) if visit(self) else self.browse()

    def _sales_process_cache_names(self, vals=None):
        """The process rules hold the stages' active items, whether they are mandatory and what
        they wait for."""
        if vals is None or {"stage_id", "is_mandatory", "active", "depends_on_ids"} & set(vals):
            return ("default",)
        return ()

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    def write(self, vals):
        # the items waiting for these may have nothing left to wait for: archived, or no longer waited for
        released = self.browse()
        if "active" in vals and not vals["active"]:
            released |= self._get_waiting_items()
        if "depends_on_ids" in vals:
            released |= self
        res = super().write(vals)
        if released:
            self.env["crm.lead.checklist.line"]._start_lines_of_items(released.ids)
        return res

    def unlink(self):
        released = self._get_waiting_items() - self
        res = super().unlink()
        if released:
            self.env["crm.lead.checklist.line"]._start_lines_of_items(released.ids)
        return res

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _get_waiting_items(self):
        """The items, archived ones too, that wait for these."""
        return self.with_context(active_test=False).search([("depends_on_ids", "in", self.ids)])

    def _get_responsible_id(self, salesperson_id, leader_id):
        """Id of the user who does the item on a lead of this salesperson and team leader (ids or
        False): the item's named user, else the salesperson or the team leader as the item says,
        falling back on the other role, then on the current user, so that every item has someone."""
        self.ensure_one()
        if self.responsible_type == "user" and self.responsible_user_id.active:
            return self.responsible_user_id.id
        if self.responsible_type == "team_leader":
            return leader_id or salesperson_id or self.env.uid
        return salesperson_id or leader_id or self.env.uid

    def _get_deadline(self, start):
        """Due date of the item for a lead that entered the stage at ``start`` (a UTC datetime)."""
        self.ensure_one()
        delta = timedelta(hours=self.due_offset) if self.due_offset_unit == "hours" else timedelta(days=self.due_offset)
        return fields.Date.context_today(self, start + delta)
