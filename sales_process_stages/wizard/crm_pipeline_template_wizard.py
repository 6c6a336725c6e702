from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class CrmPipelineTemplateWizard(models.TransientModel):
    _name = "crm.pipeline.template.wizard"
    _description = "New Pipeline from Template"

    template_team_id = fields.Many2one(
        "crm.team", string="Template", required=True, ondelete="cascade",
        domain="[('is_pipeline_template', '=', True)]", context={"active_test": False},
        help="The pipeline to copy: its settings, stages, checklists, entry requirements, SLAs, probabilities "
        "and lost reasons.")
    name = fields.Char("Pipeline Name", required=True)
    user_id = fields.Many2one(
        "res.users", string="Team Leader", domain="[('share', '=', False), ('company_ids', 'in', company_id)]",
        help="Leads the new pipeline: checklist items for the team leader go to this user.")
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company)
    stage_count = fields.Integer("Stages", compute="_compute_template_summary")
    item_count = fields.Integer("Checklist Items", compute="_compute_template_summary")

    @api.depends("template_team_id")
    def _compute_template_summary(self):
        for wizard in self:
            stages = self.env["crm.stage"].search([("team_id", "=", wizard.template_team_id.id)]) \
                if wizard.template_team_id else self.env["crm.stage"]
            wizard.stage_count = len(stages)
            wizard.item_count = len(stages.checklist_item_ids)

    def action_create_pipeline(self):
        """Create the pipeline and open its board."""
        self.ensure_one()
        if not (self.name or "").strip():
            raise ValidationError(_("Name the new pipeline."))
        team = self.template_team_id._copy_pipeline({
            "name": self.name.strip(), "user_id": self.user_id.id, "company_id": self.company_id.id,
        })
        action = self.env["ir.actions.actions"]._for_xml_id("crm.crm_case_form_view_salesteams_opportunity")
        action.update(
            name=team.name,
            context={"search_default_team_id": [team.id], "default_team_id": team.id, "default_type": "opportunity"},
        )
        return action
