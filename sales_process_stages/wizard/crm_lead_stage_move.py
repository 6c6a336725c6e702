from odoo import _, api, fields, models


class CrmLeadStageMove(models.TransientModel):
    _name = "crm.lead.stage.move"
    _description = "Move a Lead to a Stage"

    lead_id = fields.Many2one("crm.lead", required=True, ondelete="cascade")
    team_id = fields.Many2one(related="lead_id.team_id")
    current_stage_id = fields.Many2one(related="lead_id.stage_id", string="Current Stage")
    stage_id = fields.Many2one(
        "crm.stage", string="Move To", required=True,
        domain="['|', ('team_id', '=', False), ('team_id', '=', team_id), ('id', '!=', current_stage_id)]")
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
            rules = self.env["crm.stage"]._get_process_rules()["stages"]
            values["stage_id"] = lead._get_next_stage_id(rules)
        return values

    @api.depends("lead_id", "stage_id")
    def _compute_blocking(self):
        for wizard in self:
            problems = []
            if wizard.lead_id and wizard.stage_id and wizard.stage_id != wizard.lead_id.stage_id:
                problems = wizard.lead_id._get_stage_move_problems(wizard.stage_id.id)
            wizard.blocking = "\n".join(problems) or False

    @api.depends("lead_id")
    @api.depends_context("uid")
    def _compute_can_force(self):
        # a dependency the form's onchange follows: a compute with none is never run for a new record
        can_force = self.env.user.has_group("sales_team.group_sale_manager")
        for wizard in self:
            wizard.can_force = can_force

    def action_move(self):
        """Move when nothing is missing; else open the lead in a dialog asking for exactly the
        missing values and open items, whose button moves it through the same gate."""
        self.ensure_one()
        if not self.blocking:
            self.lead_id.write({"stage_id": self.stage_id.id})
            return {"type": "ir.actions.act_window_close"}
        return {
            "type": "ir.actions.act_window",
            "name": _("Move to %(stage)s", stage=self.stage_id.display_name),
            "res_model": "crm.lead",
            "res_id": self.lead_id.id,
            "view_mode": "form",
            "views": [(self.env.ref("sales_process_stages.crm_lead_view_form_stage_move").id, "form")],
            "target": "new",
            "context": {"stage_move_view_ref": self.stage_id.id},
        }

    def action_force(self):
        """A sales manager's move past the rules (the right is checked by the lead)."""
        self.ensure_one()
        self.lead_id._force_stage_move(self.stage_id, self.force_reason)
        return {"type": "ir.actions.act_window_close"}
