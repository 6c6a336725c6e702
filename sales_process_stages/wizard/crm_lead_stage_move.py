"""“Move to Stage”: the target stage is the wizard's field; the dialog says what the move lacks,
asks for the missing values of the lead (an editable row of the lead, with the fields the target
stage requires and the lead lacks), the planned activity (planned with the move) and the open
items (ticked in the dialog, which stays open), and moves the lead through the same ``write``
and gate as any other path. Nothing here decides a rule."""

from datetime import timedelta

from lxml import etree

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class CrmLeadStageMove(models.TransientModel):
    _name = "crm.lead.stage.move"
    _description = "Move a Lead to a Stage"

    lead_id = fields.Many2one("crm.lead", required=True, ondelete="cascade")
    # the lead as an editable row: its missing values are written to it when the dialog saves
    lead_ids = fields.Many2many(
        "crm.lead", "crm_lead_stage_move_lead_rel", "wizard_id", "lead_id", string="Lead Values",
        compute="_compute_lead_ids", store=True, readonly=False)
    team_id = fields.Many2one(related="lead_id.team_id")
    current_stage_id = fields.Many2one(related="lead_id.stage_id", string="Current Stage")
    stage_id = fields.Many2one(
        "crm.stage", string="Move To",
        domain="['|', ('team_id', '=', False), ('team_id', '=', team_id), ('id', '!=', current_stage_id)]")
    # what the target stage requires that the lead lacked when the target was chosen, as ",name,":
    # stored, so that a value filled in keeps its column until the move
    missing_fields = fields.Char(compute="_compute_missing_fields", store=True)
    needs_activity = fields.Boolean("Needs a Planned Activity", compute="_compute_blocking")
    # the open mandatory items the move leaves (a row each, ticked in the dialog)
    item_ids = fields.One2many("crm.lead.stage.move.item", "wizard_id", string="Open Mandatory Items",
                               compute="_compute_item_ids", store=True, readonly=True)
    # the planned next activity the stage needs, planned with the move
    activity_type_id = fields.Many2one(
        "mail.activity.type", string="Next Activity", domain="[('res_model', 'in', (False, 'crm.lead'))]",
        default=lambda self: self.env["crm.lead"]._get_call_activity_type())
    activity_date = fields.Date("Due", default=lambda self: fields.Date.context_today(self) + timedelta(days=1))
    activity_summary = fields.Char("Summary")
    blocking = fields.Text("What Is Missing", compute="_compute_blocking")
    can_force = fields.Boolean(compute="_compute_can_force")
    force_reason = fields.Text(
        help="Sales managers may move past the rules; the reason and what was bypassed "
        "are recorded in the chatter.")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        lead = self.env["crm.lead"].browse(values.get("lead_id"))
        if lead and "stage_id" in fields_list and not values.get("stage_id"):
            values["stage_id"] = lead._get_next_stage_id(self.env["crm.stage"]._get_process_rules())
        return values

    @api.model_create_multi
    def create(self, vals_list):
        wizards = super().create(vals_list)
        rules = self.env["crm.stage"]._get_process_rules()
        for wizard in wizards:
            if not wizard.lead_ids:
                wizard.lead_ids = wizard.lead_id  # the dialog sent the row's values, not the link
            if not wizard.stage_id and wizard.lead_id:
                wizard.stage_id = wizard.lead_id._get_next_stage_id(rules)  # neither given nor a default
        return wizards

    @api.depends("lead_id")
    def _compute_lead_ids(self):
        for wizard in self:
            wizard.lead_ids = wizard.lead_id

    @api.depends("lead_id", "stage_id")
    def _compute_missing_fields(self):
        rules = self.env["crm.stage"]._get_process_rules()
        for wizard in self:
            stage_rules = rules.stages.get(wizard.stage_id.id)
            missing = [name for name in stage_rules.required_fields
                       if wizard.lead_id._is_stage_value_missing(name, {})] if stage_rules and wizard.lead_id else []
            wizard.missing_fields = f",{','.join(missing)}," if missing else False

    @api.depends("lead_id", "stage_id")
    def _compute_blocking(self):
        rules = self.env["crm.stage"]._get_process_rules()
        for wizard in self:
            problems, needs_activity = [], False
            lead, stage = wizard.lead_id, wizard.stage_id
            if lead and stage and stage != lead.stage_id:
                problems = lead._get_stage_move_problems(stage.id)
                needs_activity = bool(problems) and rules.stages[stage.id].require_next_activity \
                    and lead.id not in lead._get_planned_next_activity_leads(lead)
            wizard.blocking = "\n".join(problems) or False
            wizard.needs_activity = needs_activity

    @api.depends("lead_id", "stage_id")
    def _compute_item_ids(self):
        rules = self.env["crm.stage"]._get_process_rules()
        for wizard in self:
            lead, stage = wizard.lead_id, wizard.stage_id
            lines = lead.stage_move_line_ids if lead and stage and stage != lead.stage_id \
                and lead._is_forward(rules, lead.stage_id.id, stage.id) else lead.stage_move_line_ids.browse()
            wizard.item_ids = [fields.Command.clear()] + [fields.Command.create({"line_id": line.id})
                                                          for line in lines]

    @api.depends("lead_id")
    @api.depends_context("uid")
    def _compute_can_force(self):
        # a dependency the form's onchange follows: a compute with none is never run for a new record
        can_force = self.env.user.has_group("sales_team.group_sale_manager")
        for wizard in self:
            wizard.can_force = can_force

    @api.model
    def _get_view(self, view_id=None, view_type="form", **options):
        """The lead's row asks for every field a stage may require, each shown and required only
        where the chosen stage requires it and the lead lacks it (``missing_fields``)."""
        arch, view = super()._get_view(view_id, view_type, **options)
        row = arch.xpath("//field[@name='lead_ids']/list")
        if view_type != "form" or not row:
            return arch, view
        rules = self.env["crm.stage"]._get_process_rules()
        names = frozenset(name for stage in rules.stages.values() for name in stage.required_fields)
        labels = self.env["crm.lead"]._get_stage_field_labels(names)
        for name in sorted(names, key=labels.get):
            missing = f"',{name},' in (parent.missing_fields or '')"
            row[0].append(etree.Element("field", name=name, required=missing, column_invisible=f"not ({missing})"))
        return arch, view

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_move(self):
        """Move (the values filled in were saved with the dialog), with the activity planned here
        when the stage needs one: through the lead's gate, which refuses with what is still
        missing (nothing written then: the dialog stays open)."""
        self.ensure_one()
        if not self.stage_id:
            raise ValidationError(_("Choose the stage to move the lead to."))
        if self.needs_activity and self.activity_type_id:
            if not self.activity_date or self.activity_date < fields.Date.context_today(self):
                raise ValidationError(_("The next activity is due today or later."))
            self.lead_id.activity_schedule(
                activity_type_id=self.activity_type_id.id, date_deadline=self.activity_date,
                summary=self.activity_summary or False, user_id=self.lead_id.user_id.id or self.env.uid)
        self.lead_id.write({"stage_id": self.stage_id.id})
        # the board or the form under the dialog shows the lead where it now is
        return {"type": "ir.actions.client", "tag": "soft_reload"}

    def _action_reopen(self):
        """This dialog again, read anew (a button inside it returns this to keep it open)."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Move to Stage"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
        }

    def action_force(self):
        """A sales manager's move past the rules (the right is checked by the lead)."""
        self.ensure_one()
        self.lead_id._force_stage_move(self.stage_id, self.force_reason)
        return {"type": "ir.actions.act_window_close"}


class CrmLeadStageMoveItem(models.TransientModel):
    _name = "crm.lead.stage.move.item"
    _description = "Open Item of a Stage Move"

    wizard_id = fields.Many2one("crm.lead.stage.move", required=True, ondelete="cascade")
    line_id = fields.Many2one("crm.lead.checklist.line", required=True, ondelete="cascade")
    name = fields.Char(related="line_id.name")
    user_id = fields.Many2one(related="line_id.user_id")
    date_deadline = fields.Date(related="line_id.date_deadline")
    state = fields.Selection(related="line_id.state")
    waiting_for = fields.Char(related="line_id.waiting_for")
    needs_attachment = fields.Boolean(related="line_id.needs_attachment")

    def action_done(self):
        """Tick the item (as the line's own button does: its rules apply) and keep the dialog."""
        self.ensure_one()
        self.line_id.action_done()
        return self.wizard_id._action_reopen()
