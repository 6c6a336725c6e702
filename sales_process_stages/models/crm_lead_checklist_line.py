from collections import defaultdict

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import SQL

# What ties a line to its lead and its template: written by the stage entry only (superuser)
TEMPLATE_FIELDS = frozenset({"lead_id", "stage_id", "item_id", "name", "description", "sequence", "is_mandatory",
                             "needs_attachment", "company_id", "stage_sequence", "completer_type",
                             "completer_user_id", "completer_group_id"})
# who does the item and by when: those who may edit the lead (its salesperson, sales managers)
PLANNING_FIELDS = frozenset({"user_id", "date_deadline"})
# what completing the item needs: its assignee too (the state through its rule: ``_check_state_change``)
WORK_FIELDS = frozenset({"state", "skip_reason", "note", "file_ids", "attachment_ids"})


class CrmLeadChecklistLine(models.Model):
    _name = "crm.lead.checklist.line"
    _description = "Lead Checklist Line"
    # no join: the stage order is stored on the line (a form reads its lead's lines in this order)
    _order = "stage_sequence, sequence, id"
    _rec_name = "name"
    # written by thousands when leads enter a stage: who did an item and when are done_user_id and
    # done_date, when it was given is the lead's stage history (no create/write user and date: two
    # foreign keys less to check on each row)
    _log_access = False

    # Indexes: lines are inserted by thousands when leads enter a stage, and each index costs an insert
    # per line. A lead's lines are found through the unique (lead_id, item_id) index; a user's through
    # user_id; an activity's through activity_id. No index on company, stage or state: they only narrow
    # down searches already made on one of those.
    lead_id = fields.Many2one("crm.lead", required=True, ondelete="cascade")
    lead_name = fields.Char(related="lead_id.name", string="Lead Name")
    # computed before the insert (a mass move inserts thousands of lines: no UPDATE after it)
    company_id = fields.Many2one(related="lead_id.company_id", store=True, precompute=True)
    stage_id = fields.Many2one("crm.stage", required=True, ondelete="cascade")
    stage_sequence = fields.Integer(related="stage_id.sequence", string="Stage Sequence", store=True, precompute=True)
    item_id = fields.Many2one("crm.stage.checklist.item", string="Template Item", ondelete="set null", index=True)
    # copied from the template when the lead enters the stage: editing the template never rewrites them
    name = fields.Char("Item", required=True, translate=True)
    description = fields.Text(translate=True)
    sequence = fields.Integer(default=10)
    is_mandatory = fields.Boolean("Mandatory", default=True)
    needs_attachment = fields.Boolean("Needs an Attachment")
    # who may tick it (``crm.stage.checklist.item.completer_type``): copied too, the team leader is the
    # pipeline's when the line is ticked
    completer_type = fields.Selection(
        [("assignee", "Whoever works on the lead"), ("user", "Specific user"), ("team_leader", "Team leader"),
         ("group", "Members of a group")], string="Completed By", default="assignee", required=True)
    completer_user_id = fields.Many2one("res.users", string="Completing User")
    completer_group_id = fields.Many2one("res.groups", string="Completing Group")
    # who, when, how far
    user_id = fields.Many2one("res.users", string="Responsible", index=True, domain="[('share', '=', False)]")
    date_deadline = fields.Date("Due Date")
    state = fields.Selection(
        [("open", "To Do"), ("waiting", "Waiting"), ("done", "Done"), ("skipped", "Skipped"),
         ("cancelled", "Cancelled")],
        string="Status", required=True, default="open",
        help="Waiting: the item starts once the items it waits for are done or skipped. "
        "Cancelled: open or waiting when the lead was lost; restoring the lead reopens it.")
    done_date = fields.Datetime("Done On", readonly=True)
    done_user_id = fields.Many2one("res.users", string="Done By", readonly=True)
    skip_reason = fields.Char()
    # approvals: approved is done; the last rejection stays on the line (and in the chatter)
    is_approval = fields.Boolean(related="item_id.is_approval")
    rejection_reason = fields.Text("Rejected Because", readonly=True)
    rejected_by_id = fields.Many2one("res.users", readonly=True)
    rejected_date = fields.Datetime("Rejected On", readonly=True)
    note = fields.Text(help="The assignee's note on the work done.")
    activity_id = fields.Many2one("mail.activity", ondelete="set null", index="btree_not_null")
    is_overdue = fields.Boolean("Overdue", compute="_compute_is_overdue", search="_search_is_overdue")
    # what the assignee needs to do the item, also without CRM rights: the lead's customer and site
    lead_partner_name = fields.Char("Customer", compute="_compute_lead_context", compute_sudo=True)
    lead_address = fields.Char("Site Address", compute="_compute_lead_context", compute_sudo=True)
    # the files of the item (as Odoo's time off attaches its supporting documents)
    attachment_ids = fields.One2many(
        "ir.attachment", "res_id", domain=[("res_model", "=", "crm.lead.checklist.line")], string="Attachments")
    file_ids = fields.Many2many(
        "ir.attachment", string="Files", compute="_compute_file_ids", inverse="_inverse_file_ids",
        help="The file the item needs (the signed contract, the photos): attached here, it is on the item.")
    # "Needs Changes": the earlier step of the stage this step sends the lead back to (its template's)
    send_back_item_id = fields.Many2one(
        "crm.stage.checklist.item", string="Sends Back To", related="item_id.send_back_item_id")
    waiting_for = fields.Char(
        "Waits For", compute="_compute_waiting_for",
        help="The items of the lead this waiting item starts after, not done or skipped yet.")

    _sql_constraints = [
        ("lead_item_unique", "UNIQUE(lead_id, item_id)",
         "A lead has each checklist item of a stage once."),
    ]

    @api.depends("state", "date_deadline", "stage_id", "lead_id.stage_id")
    def _compute_is_overdue(self):
        """Open, past its due date, in the stage the lead is in: an item of a stage the lead has left
        (optional ones stay open) is no longer due. The lead read as superuser: the assignee may have
        no CRM rights."""
        today = fields.Date.context_today(self)
        for line in self:
            line.is_overdue = line.state == "open" and bool(line.date_deadline) and line.date_deadline < today \
                and line.stage_id == line.sudo().lead_id.stage_id

    @api.depends("lead_id")
    def _compute_lead_context(self):
        for line in self:
            lead = line.lead_id
            line.lead_partner_name = lead.partner_id.display_name or lead.partner_name or lead.contact_name or False
            city = " ".join(filter(None, (lead.zip, lead.city)))
            line.lead_address = ", ".join(filter(None, (lead.street, lead.street2, city, lead.country_id.name))) \
                or False

    @api.depends("attachment_ids")
    def _compute_file_ids(self):
        for line in self:
            line.file_ids = line.attachment_ids

    def _inverse_file_ids(self):
        for line in self:
            line.attachment_ids = line.file_ids

    @api.depends("state", "item_id")
    def _compute_waiting_for(self):
        # the names of the items before it, also for an assignee who may not read those lines
        waiting = self.filtered(lambda line: line.state == "waiting" and line.item_id)
        pending = waiting._get_pending_prerequisites()
        for line in self:
            line.waiting_for = ", ".join(pending.get(line.id, ())) if line in waiting else False

    def _search_is_overdue(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise ValidationError(_("Operation not supported"))
        self.env["crm.lead"].flush_model(["stage_id"])
        self.flush_model(["state", "date_deadline", "stage_id", "lead_id"])
        overdue = SQL("""(
            SELECT line.id FROM crm_lead_checklist_line line
              JOIN crm_lead lead ON lead.id = line.lead_id AND lead.stage_id = line.stage_id
             WHERE line.state = 'open' AND line.date_deadline < %s
        )""", fields.Date.context_today(self))
        return [("id", "in" if (operator == "=") == value else "not in", overdue)]

    # ------------------------------------------------------------
    # ORM: the line guards its own state, whatever the path (RPC, import, mass edit, form)
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            raise ValidationError(_(
                "Checklist items come from the lead's stage: a lead gets them when it enters the stage."))
        return super().create(vals_list)

    def write(self, vals):
        self._check_write_fields(vals)
        if "state" not in vals:
            res = super().write(vals)
            if PLANNING_FIELDS & vals.keys():
                self._sync_activities()
            return res
        state = vals["state"]
        changing = self.filtered(lambda line: line.state != state)
        changing._check_state_change(state, vals)
        activities = changing.activity_id.sudo()
        reopened = changing.filtered(lambda line: line.state in ("done", "skipped")) if state == "open" else None
        if state == "open":
            extra = {"done_date": False, "done_user_id": False, "skip_reason": False}
        elif state == "cancelled":
            extra = {"activity_id": False}
        elif state == "waiting":
            extra = {"activity_id": False, "date_deadline": False, "done_date": False, "done_user_id": False,
                     "skip_reason": False}
        else:
            extra = {"done_date": fields.Datetime.now(), "done_user_id": self.env.uid}
            if state == "skipped":
                extra["activity_id"] = False
        res = super(CrmLeadChecklistLine, changing).write({**vals, **extra})
        if self - changing:
            super(CrmLeadChecklistLine, self - changing).write(vals)
        if state == "done":
            # the line's activity is done with it (an activity marked done first is done already)
            changing._done_activities(activities.filtered("active"))
        elif state in ("skipped", "cancelled", "waiting"):
            activities.exists().unlink()  # a lost lead's activities are deleted by mail already
        if state == "done":
            changing._move_leads_on_done()
        if state in ("done", "skipped"):
            changing._start_next_lines()
        elif reopened:
            reopened._wait_again_next_lines()
        return res

    def _done_activities(self, activities):
        """Mark the lines' ``activities`` done (``mail.activity.action_feedback``, in batch): the
        lead's chatter says what the assignee did — their note as the feedback, the item's files
        with it — rather than the item's instructions, which the activity carried for them."""
        groups = defaultdict(lambda: self.env["mail.activity"].sudo())
        for line in self:
            if line.activity_id in activities:
                groups[(line.note or "").strip(), tuple(line.attachment_ids.ids)] |= line.activity_id.sudo()
        for (note, attachment_ids), group in groups.items():
            group.note = False  # the instructions were the assignee's; the chatter keeps what was done
            group.action_feedback(feedback=note or _("Checklist item done"),
                                  attachment_ids=list(attachment_ids) or None)

    def _check_write_fields(self, vals):
        """Users change what completing an item needs; those who may edit the lead also who does
        it and by when; what ties the line to its lead and template only the stage entry."""
        if self.env.su:
            return
        locked = set(vals) - WORK_FIELDS - PLANNING_FIELDS
        if locked:
            labels = self.fields_get(sorted(locked & set(self._fields)), ["string"])
            names = ", ".join(sorted(label["string"] for label in labels.values()))
            raise ValidationError(_(
                "A checklist item's %(fields)s come from its stage and its lead: they cannot be changed.",
                fields=names or ", ".join(sorted(locked))))
        if PLANNING_FIELDS & vals.keys():
            try:
                self.lead_id.check_access("write")
            except AccessError:
                raise ValidationError(_(
                    "Only those who may edit the lead (its salesperson, a sales manager) can reassign or "
                    "reschedule its checklist items.")) from None
            if "user_id" in vals:
                self._check_assignee(self.env["res.users"].sudo().browse(vals["user_id"] or ()))

    def _check_state_change(self, state, vals):
        """The rule of each state: done with the file the item needs, skipped only if optional and
        with a reason."""
        if state == "cancelled" or (state != "cancelled" and "cancelled" in self.mapped("state")):
            # the lead's loss cancels its open lines and its restore reopens them, nothing else
            if not self.env.su:
                raise ValidationError(_(
                    "Cancelled checklist items are those of a lost lead: restore the lead to reopen "
                    "them."))
        if state == "waiting" or (state == "open" and "waiting" in self.mapped("state")):
            # a line waits, and starts, as the items it waits for say: nobody sets it by hand
            if not self.env.su:
                raise ValidationError(_(
                    "A waiting checklist item starts by itself once the items it waits for are done "
                    "or skipped."))
        elif state in ("done", "skipped"):
            self._check_not_waiting()
        if state in ("done", "skipped"):
            self._check_completer()
        if state == "done":
            self._check_attachment()
        elif state == "skipped":
            for line in self:
                if line.is_mandatory:
                    raise ValidationError(_("“%(item)s” is mandatory: it cannot be skipped.", item=line.name))
                reason = vals["skip_reason"] if "skip_reason" in vals else line.skip_reason
                if not (reason or "").strip():
                    raise ValidationError(_("Say why “%(item)s” is skipped.", item=line.name))

    def _check_assignee(self, user):
        """A line is assigned to an active internal user (no portal user: the item is the company's
        work) and, when it names who completes it, to one of them: nobody takes over an approval."""
        if self.env.su or not user:
            return
        if user.share or not user.active:
            raise ValidationError(_("Checklist items are assigned to active internal users, not to %(user)s.",
                              user=user.name))
        refused = self.filtered(lambda line: not line._may_complete(user))
        if refused:
            raise ValidationError(_(
                "%(items)s can only be assigned to whoever may complete it: %(who)s.",
                items=", ".join(f"“{line.name}”" for line in refused),
                who="; ".join(dict.fromkeys(line._describe_completers() for line in refused))))

    def _check_completer(self):
        """Lines that name who completes them (an approval) are done or skipped by them only,
        whatever the path (the line, its activity, RPC); the process itself (superuser) and a sales
        manager's forced move of the lead are not held back."""
        if self.env.su:
            return
        refused = self.filtered(lambda line: not line._may_complete(self.env.user))
        if refused:
            raise ValidationError(_(
                "You cannot complete these checklist items: %(items)s",
                items="; ".join(_("“%(item)s” is completed by %(who)s", item=line.name,
                                  who=line._describe_completers()) for line in refused)))

    def _get_completers(self):
        """The users who may complete this line, or None when whoever works on the lead may."""
        self.ensure_one()
        line = self.sudo()
        if line.completer_type == "user":
            return line.completer_user_id
        if line.completer_type == "team_leader":
            return line.lead_id.team_id.user_id
        if line.completer_type == "group":
            return line.completer_group_id.users
        return None

    def _may_complete(self, user):
        completers = self._get_completers()
        return completers is None or user in completers

    def _describe_completers(self):
        self.ensure_one()
        line = self.sudo()
        if line.completer_type == "user":
            return line.completer_user_id.name
        if line.completer_type == "team_leader":
            leader = line.lead_id.team_id.user_id
            return _("the team leader (%(user)s)", user=leader.name) if leader else _(
                "the team leader of pipeline %(team)s, who is not set", team=line.lead_id.team_id.name or "-")
        if line.completer_type == "group":
            return _("the members of %(group)s", group=line.completer_group_id.display_name)
        return _("whoever works on the lead")

    def _sync_activities(self):
        """The open lines' activities follow their responsible and due date."""
        for line in self.sudo().filtered(lambda line: line.activity_id and line.state == "open"):
            activity = line.activity_id
            if line.user_id and activity.user_id != line.user_id:
                activity.write({"user_id": line.user_id.id})
            if line.date_deadline and activity.date_deadline != line.date_deadline:
                activity.write({"date_deadline": line.date_deadline})

    def _copy_template_translations(self):
        """New lines carry their items' name and description in every language (the ORM writes
        the creating user's language only): one statement on the lines."""
        self.flush_recordset(["name", "description", "item_id"])
        self.env["crm.stage.checklist.item"].flush_model(["name", "description"])
        self.env.cr.execute(SQL("""
            UPDATE crm_lead_checklist_line line
               SET name = item.name, description = item.description
              FROM crm_stage_checklist_item item
             WHERE item.id = line.item_id AND line.id = ANY(%s)
        """, self.ids))
        self.invalidate_recordset(["name", "description"])

    @api.model
    def _complete_translations(self):
        """Every line takes its item's name and description in the languages it lacks (one
        statement on the lines: a language installed after the lines were made)."""
        self.env["crm.stage.checklist.item"].flush_model(["name", "description"])
        self.flush_model(["name", "description", "item_id"])
        self.env.cr.execute(SQL("""
            UPDATE crm_lead_checklist_line line
               SET name = item.name || line.name,
                   description = CASE WHEN item.description IS NULL THEN line.description
                                      ELSE item.description || COALESCE(line.description, '{}'::jsonb) END
              FROM crm_stage_checklist_item item
             WHERE item.id = line.item_id
               AND ((item.name - ARRAY(SELECT jsonb_object_keys(line.name))) <> '{}'::jsonb
                    OR (item.description - ARRAY(SELECT jsonb_object_keys(
                        COALESCE(line.description, '{}'::jsonb)))) <> '{}'::jsonb)
        """))
        self.invalidate_model(["name", "description"])

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_done(self):
        """Tick the lines (their activities are marked done with them)."""
        self.filtered(lambda line: line.state != "done").write({"state": "done"})
        return True

    def action_skip(self):
        """Open the dialog asking why an optional line is skipped."""
        return {
            "type": "ir.actions.act_window",
            "name": _("Skip Checklist Item"),
            "res_model": "crm.lead.checklist.line",
            "res_id": self.id,
            "view_mode": "form",
            "views": [(self.env.ref("sales_process_stages.crm_lead_checklist_line_view_form_skip").id, "form")],
            "target": "new",
        }

    def action_confirm_skip(self):
        """Button of the skip dialog: the reason is saved by then."""
        self.write({"state": "skipped"})
        return {"type": "ir.actions.act_window_close"}

    def action_reopen(self):
        """To do again, with a new activity (the steps after it wait again)."""
        self._reopen()
        return True

    def action_needs_changes(self):
        """Open the dialog asking what needs changing before the lead goes back to an earlier step."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Reject") if self.sudo().is_approval else _("Needs Changes"),
            "res_model": "crm.lead.checklist.line.send.back",
            "view_mode": "form",
            "views": [(False, "form")],
            "context": {"default_line_id": self.id},
            "target": "new",
        }

    def action_reject(self, reason):
        """Reject these approvals, saying why: decided by who may approve them (the same rule as
        approving); the lead goes back to the step the item names (``_send_back``), else the
        approval is to do again. The reason stays on the line and is posted on the lead."""
        reason = (reason or "").strip() if isinstance(reason, str) else ""
        if not reason:
            raise ValidationError(_("Say why it is rejected."))
        for line in self:
            line._reject(reason)
        return True

    def action_send_back(self, reason):
        """This step needs changes (rejected, postponed): the step its item sends the lead back to
        and the done steps after it are reopened, in order, and ``reason`` is posted on the lead.

        Decided by who may complete the step (an approval: its approver only); the steps reopened
        are the process's consequence (reopening only gives work back: nothing is completed)."""
        reason = (reason or "").strip() if isinstance(reason, str) else ""
        if not reason:
            raise ValidationError(_("Say what needs changing."))
        for line in self:
            line._send_back(reason)
        return True

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _reopen(self):
        """Reopen these done or skipped lines through their rule (``write``): they are to do again,
        due as their items say from now, with a new activity; the steps after them wait again
        (``_wait_again_next_lines``) and start once these are done again."""
        closed = self.filtered(lambda line: line.state in ("done", "skipped"))
        self.write({"state": "open"})
        # (those the write set waiting again, after a step reopened with them, start later)
        closed.filtered(lambda line: line.state == "open").sudo()._start()

    def _reject(self, reason):
        """One approval rejected: see ``action_reject``."""
        self.ensure_one()
        line = self.sudo()
        if not line.is_approval:
            raise ValidationError(_("“%(item)s” is not an approval: it cannot be rejected.", item=line.name))
        self._check_decision()
        line.write({"rejection_reason": reason, "rejected_by_id": self.env.uid,
                    "rejected_date": fields.Datetime.now()})
        heading = _("“%(item)s” rejected: %(reason)s", item=line.name, reason=reason)
        if line.item_id.send_back_item_id.active:
            self._send_back(reason, heading=heading)
            return
        if line.state == "done":
            self._reopen()
        line.lead_id.message_post(
            body=Markup("%s<br/>%s") % (heading, _("“%(item)s” is to do again.", item=line.name)),
            author_id=self.env.user.partner_id.id, message_type="comment", subtype_xmlid="mail.mt_note")

    def _check_decision(self):
        """Who may decide on the line (needs changes, a rejection): who may edit it and complete it,
        on an item to do or done of the lead's current stage."""
        self.ensure_one()
        line = self.sudo()
        # the user may edit this line, and decides on it as on completing it
        self.check_access("write")
        self._check_completer()
        lead = line.lead_id
        if line.state not in ("open", "done") or not lead.active or lead.stage_id != line.stage_id:
            raise ValidationError(_(
                "Only an item to do or done in the lead's current stage can need changes: “%(item)s” is not.",
                item=line.name))

    def _send_back(self, reason, heading=None):
        """One step needs changes: see ``action_send_back``."""
        self.ensure_one()
        line = self.sudo()
        target = line.item_id.send_back_item_id
        if not target.active:
            raise ValidationError(_("“%(item)s” does not send the lead back to an earlier step.", item=line.name))
        self._check_decision()
        lead = line.lead_id
        lines = line.search([("lead_id", "=", lead.id), ("stage_id", "=", line.stage_id.id)])
        start = lines.filtered(lambda other: other.item_id == target)[:1]
        threshold = (start.sequence, start.id) if start else (target.sequence, 0)
        reopened = lines.filtered(lambda other: other.state == "done" and (other.sequence, other.id) >= threshold)
        if not reopened:
            raise ValidationError(_(
                "Nothing to send back to: “%(target)s” and the items after it are not done.", target=target.name))
        reopened._reopen()
        lead.message_post(
            body=Markup("%s<br/>%s") % (
                heading or _("“%(item)s” needs changes: %(reason)s", item=line.name, reason=reason),
                _("Back to “%(target)s”; to do again: %(items)s.", target=target.name,
                  items=", ".join(f"“{name}”" for name in reopened.mapped("name")))),
            author_id=self.env.user.partner_id.id, message_type="comment", subtype_xmlid="mail.mt_note")

    def _mark_done(self):
        """The lines' activities were marked done (``mail.activity._action_done``, which checked
        the rule with the files given with the feedback): the lines are done, and the lines
        waiting for them may start."""
        res = super(CrmLeadChecklistLine, self.sudo()).write(
            {"state": "done", "done_date": fields.Datetime.now(), "done_user_id": self.env.uid})
        self._move_leads_on_done()
        self._start_next_lines()
        return res

    def _move_leads_on_done(self):
        """Steps that move the lead (``item.move_to_stage_id``), done: their leads, still in the
        step's stage, move to its target, as the user who did them, through the lead's ``write`` and
        its gate (a refused move refuses the step: nothing is half-written)."""
        targets = {}
        for line in self.sudo():
            target = line.item_id.move_to_stage_id
            lead = line.lead_id
            if target and lead.active and lead.stage_id == line.stage_id and lead.stage_id != target:
                targets.setdefault(target, self.env["crm.lead"].browse())
                targets[target] |= lead
        for target, leads in targets.items():
            leads.with_env(self.env(su=False)).write({"stage_id": target.id})

    # ------------------------------------------------------------
    # BUSINESS: steps in order (items waiting for items)
    # ------------------------------------------------------------

    def _check_not_waiting(self):
        """A waiting line is done or skipped only once it started."""
        waiting = self.filtered(lambda line: line.state == "waiting")
        if waiting:
            pending = waiting._get_pending_prerequisites()
            raise ValidationError(_(
                "These checklist items wait for others to be done or skipped first: %(items)s",
                items="; ".join(_("“%(item)s” waits for %(before)s", item=line.name,
                                  before=", ".join(f"“{name}”" for name in pending.get(line.id, ())))
                                for line in waiting)))

    def _get_pending_prerequisites(self):
        """Names of the items each line waits for that are not done or skipped yet (the lines of
        the same lead of the active items its item waits for), in the items' order.

        :return: {line id: [item names]}
        """
        prerequisites = self.env["crm.stage"]._get_process_rules().item_prerequisites
        lines = self.filtered(lambda line: line.item_id.id in prerequisites)
        if not lines:
            return {}
        states = self.sudo()._get_item_states(
            lines.lead_id.ids, {item_id for line in lines for item_id in prerequisites[line.item_id.id]})
        pending = {}
        for line in lines:
            found = [states.get((line.lead_id.id, item_id)) for item_id in prerequisites[line.item_id.id]]
            pending[line.id] = [name for state, name in filter(None, found) if state not in ("done", "skipped")]
        return pending

    @api.model
    def _get_item_states(self, lead_ids, item_ids):
        """The state and name of the lines of these leads and items, in one query.

        :return: {(lead id, item id): (state, name)}
        """
        return {
            (line.lead_id.id, line.item_id.id): (line.state, line.name)
            for line in self.sudo().search_fetch(
                [("lead_id", "in", list(lead_ids)), ("item_id", "in", list(item_ids))],
                ["lead_id", "item_id", "state", "name"], order="stage_sequence, sequence, id")
        }

    @api.model
    def _is_ready(self, lead_id, item_id, states, prerequisites):
        """Whether the line of this lead and item may start: each line of the items it waits for is
        done or skipped (a lead with no line of an item, an item archived since, waits for nothing)."""
        return all(
            states.get((lead_id, waited_id), ("done",))[0] in ("done", "skipped")
            for waited_id in prerequisites.get(item_id, ())
        )

    def _start_next_lines(self):
        """These lines are done or skipped: the lines of their leads waiting for them start when
        nothing else they wait for is left. In a number of queries that does not grow with the leads."""
        followers = self.env["crm.stage"]._get_process_rules().item_followers
        item_ids = {item_id for line in self for item_id in followers.get(line.item_id.id, ())}
        if item_ids:
            self._start_ready_lines(self.lead_id.ids, item_ids)

    def _wait_again_next_lines(self):
        """These lines were reopened: the steps after them on their leads (those waiting for them,
        and the steps after those) no longer have what they wait for. Done, skipped or open, they
        wait again, with no activity (an open one's is deleted) and no due date, and start anew
        once the reopened steps are done again: the steps run in order again."""
        followers = self.env["crm.stage"]._get_process_rules().item_followers
        after = {}  # lead id: ids of the items after the reopened ones

        def visit(item_id, found):
            for follower_id in followers.get(item_id, ()):
                if follower_id not in found:
                    found.add(follower_id)
                    visit(follower_id, found)

        for line in self:
            if line.item_id.id in followers:
                visit(line.item_id.id, after.setdefault(line.lead_id.id, set()))
        if not after:
            return
        lines = self.sudo().search([
            ("lead_id", "in", list(after)), ("item_id", "in", list(set().union(*after.values()))),
            ("state", "in", ("open", "done", "skipped")),
        ])
        lines = lines.filtered(lambda line: line.item_id.id in after[line.lead_id.id])
        if lines:
            lines.write({"state": "waiting"})

    @api.model
    def _start_lines_of_items(self, item_ids):
        """What these items wait for changed (an item they waited for archived or deleted, their
        "Starts After" edited): their waiting lines with nothing left to wait for start, on every
        lead in their stage (the others when they come back): no step is left waiting for ever."""
        waiting = self.sudo().search([("item_id", "in", list(item_ids)), ("state", "=", "waiting")])
        if waiting:
            self._start_ready_lines(waiting.lead_id.ids, item_ids)

    @api.model
    def _start_ready_lines(self, lead_ids, item_ids):
        """Start the waiting lines of these leads and items whose items before are all done or
        skipped, on leads in the lines' stage."""
        Line = self.sudo()
        waiting = Line.search([("lead_id", "in", list(lead_ids)), ("item_id", "in", list(item_ids)),
                               ("state", "=", "waiting")])
        if not waiting:
            return Line
        prerequisites = self.env["crm.stage"]._get_process_rules().item_prerequisites
        states = Line._get_item_states(
            waiting.lead_id.ids, {item_id for line in waiting for item_id in prerequisites.get(line.item_id.id, ())})
        # a lead out of the line's stage starts it when it comes back (its stage entry calls this)
        ready = waiting.filtered(
            lambda line: line.lead_id.stage_id == line.stage_id
            and Line._is_ready(line.lead_id.id, line.item_id.id, states, prerequisites))
        ready._start()
        return ready

    def _start(self):
        """Open these lines now: due as their items say from now, their activities scheduled in
        batch (``mail.activity.create``) for their responsibles."""
        lines = self.sudo()
        if not lines:
            return
        now = self.env.cr.now()
        deadlines = {item: item._get_deadline(now) for item in lines.item_id}
        by_item = {}
        for line in lines:
            by_item.setdefault(line.item_id, self.browse())
            by_item[line.item_id] |= line
        for item, item_lines in by_item.items():
            vals = {"state": "open"}
            if item:
                vals["date_deadline"] = deadlines[item]
            item_lines.write(vals)
        Lead = self.env["crm.lead"]
        activity_ids = Lead._checklist_schedule_activities([
            (line.lead_id.with_env(Lead.env), line.item_id, line.user_id.id or self.env.uid)
            for line in lines if line.item_id.activity_type_id
        ], deadlines)
        for line in lines:
            activity_id = activity_ids.get((line.lead_id.id, line.item_id.id))
            if activity_id:
                # one column of distinct values: the ORM flushes them in one UPDATE
                super(CrmLeadChecklistLine, line).write({"activity_id": activity_id})

    def _check_attachment(self):
        """Lines needing a file are done only with a file that counts: attached to the line, to its
        lead or to its activity (the files given with the activity's feedback count as any other,
        where they are attached), since the lead entered the stage (this stay), and that the user
        completing may read (the search runs as that user: another salesman's file, a lead's file
        for an assignee who may not read the lead, count for nothing)."""
        lines = self.sudo().filtered("needs_attachment")
        if not lines:
            return
        starts = {line.id: line.lead_id.date_last_stage_update for line in lines}
        since = min(filter(None, starts.values()), default=False)
        places = ["|", "|", "&", ("res_model", "=", self._name), ("res_id", "in", lines.ids),
                  "&", ("res_model", "=", "crm.lead"), ("res_id", "in", lines.lead_id.ids),
                  "&", ("res_model", "=", "mail.activity"), ("res_id", "in", lines.activity_id.ids)]
        # as the user completing (not sudo): the files they may not read are not found
        found = self.env["ir.attachment"].search_fetch(
            [*places, *([("create_date", ">=", since)] if since else [])], ["res_model", "res_id", "create_date"])
        missing = self.browse()
        for line in lines:
            start = starts[line.id]
            line_places = {(self._name, line.id), ("crm.lead", line.lead_id.id)}
            if line.activity_id:
                line_places.add(("mail.activity", line.activity_id.id))
            if not any((attachment.res_model, attachment.res_id) in line_places
                       and (not start or attachment.create_date >= start) for attachment in found):
                missing |= self.browse(line.id)
        if missing:
            raise ValidationError(_(
                "Attach a file before marking these items done (a file you can read, added to the item or the "
                "lead since it entered the stage): %(items)s",
                items=", ".join(f"{line.lead_id.name}: {line.name}" for line in missing.sudo())))
