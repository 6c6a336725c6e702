from odoo import _, api, fields, models
from odoo.exceptions import UserError


class CrmLeadChecklistLine(models.Model):
    _name = "crm.lead.checklist.line"
    _description = "Lead Checklist Line"
    _order = "stage_sequence, stage_id, sequence, id"
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
    company_id = fields.Many2one(related="lead_id.company_id", store=True)
    stage_id = fields.Many2one("crm.stage", required=True, ondelete="cascade")
    stage_sequence = fields.Integer(related="stage_id.sequence", string="Stage Sequence", store=True)
    item_id = fields.Many2one("crm.stage.checklist.item", string="Template Item", ondelete="set null", index=True)
    # copied from the template when the lead enters the stage: editing the template never rewrites them
    name = fields.Char("Item", required=True, translate=True)
    description = fields.Text(translate=True)
    sequence = fields.Integer(default=10)
    is_mandatory = fields.Boolean("Mandatory", default=True)
    needs_attachment = fields.Boolean("Needs an Attachment")
    # who, when, how far
    user_id = fields.Many2one("res.users", string="Responsible", index=True)
    date_deadline = fields.Date("Due Date")
    state = fields.Selection(
        [("open", "To Do"), ("done", "Done"), ("skipped", "Skipped")],
        string="Status", required=True, default="open")
    done_date = fields.Datetime("Done On", readonly=True)
    done_user_id = fields.Many2one("res.users", string="Done By", readonly=True)
    skip_reason = fields.Char()
    activity_id = fields.Many2one("mail.activity", ondelete="set null", index="btree_not_null")
    is_overdue = fields.Boolean("Overdue", compute="_compute_is_overdue", search="_search_is_overdue")

    _sql_constraints = [
        ("lead_item_unique", "UNIQUE(lead_id, item_id)",
         "A lead has each checklist item of a stage once."),
    ]

    @api.depends("state", "date_deadline")
    def _compute_is_overdue(self):
        today = fields.Date.context_today(self)
        for line in self:
            line.is_overdue = line.state == "open" and bool(line.date_deadline) and line.date_deadline < today

    def _search_is_overdue(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(_("Operation not supported"))
        domain = [("state", "=", "open"), ("date_deadline", "<", fields.Date.context_today(self))]
        return domain if (operator == "=") == value else ["!", *domain]

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_done(self):
        """Tick the lines and mark their activities done."""
        self.check_access("write")
        lines = self.filtered(lambda line: line.state != "done")
        lines._check_attachment()
        activities = lines.activity_id
        lines.sudo()._set_done()
        if activities:
            activities.sudo().with_context(sps_from_checklist_line=True).action_feedback(
                feedback=_("Checklist item done"))
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
        self.check_access("write")
        for line in self:
            if line.is_mandatory:
                raise UserError(_("“%(item)s” is mandatory: it cannot be skipped.", item=line.name))
            if not (line.skip_reason or "").strip():
                raise UserError(_("Say why “%(item)s” is skipped.", item=line.name))
        activities = self.activity_id
        self.sudo().write({"state": "skipped", "done_date": fields.Datetime.now(),
                           "done_user_id": self.env.uid, "activity_id": False})
        activities.sudo().unlink()
        return {"type": "ir.actions.act_window_close"}

    def action_reopen(self):
        self.check_access("write")
        self.sudo().write({"state": "open", "done_date": False, "done_user_id": False, "skip_reason": False})
        return True

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _set_done(self):
        self.write({"state": "done", "done_date": fields.Datetime.now(), "done_user_id": self.env.uid})

    def _check_attachment(self, extra_attachment=False):
        """Lines needing an attachment are done only with a file on the line, or on the lead
        added since the lead entered the stage."""
        lines = self.filtered("needs_attachment")
        if not lines or extra_attachment:
            return
        Attachment = self.env["ir.attachment"].sudo()
        on_lines = set(
            Attachment.search([("res_model", "=", self._name), ("res_id", "in", lines.ids)]).mapped("res_id"))
        missing = self.browse()
        for line in lines.filtered(lambda line: line.id not in on_lines):
            lead = line.lead_id.sudo()
            if not Attachment.search_count([
                ("res_model", "=", "crm.lead"), ("res_id", "=", lead.id),
                ("create_date", ">=", lead.date_last_stage_update),
            ], limit=1):
                missing |= line
        if missing:
            raise UserError(_(
                "Attach a file before marking these items done: %(items)s",
                items=", ".join(f"{line.lead_id.sudo().name}: {line.name}" for line in missing)))
