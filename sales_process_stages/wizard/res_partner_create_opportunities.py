from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class ResPartnerCreateOpportunities(models.TransientModel):
    """"Create Opportunities" from the contacts list: one opportunity per contact in a pipeline
    and stage, through the lead's gate (one ``create`` of the batch: the stage's entry
    requirements apply to every lead, and refuse the whole batch with the gate's message)."""

    _name = "res.partner.create.opportunities"
    _description = "Create Opportunities for Contacts"

    partner_ids = fields.Many2many(
        "res.partner", string="Contacts", required=True,
        default=lambda self: self._default_partner_ids())
    team_id = fields.Many2one(
        "crm.team", string="Pipeline", required=True, domain="[('use_opportunities', '=', True)]",
        default=lambda self: self.env.user.sale_team_id)
    team_own_stages_only = fields.Boolean(related="team_id.own_stages_only")
    stage_id = fields.Many2one(
        "crm.stage", compute="_compute_stage_id", store=True, readonly=False, required=True,
        precompute=True,
        domain="[('is_won', '=', False),"
        " ('team_id', 'in', [team_id] if team_own_stages_only else [team_id, False])]",
        help="The first stage of the pipeline unless you choose another.")
    user_id = fields.Many2one(
        "res.users", string="Salesperson", domain="[('share', '=', False)]",
        default=lambda self: self.env.user)

    @api.model
    def _default_partner_ids(self):
        if self.env.context.get("active_model") == "res.partner":
            return [(6, 0, self.env.context.get("active_ids") or [])]
        return False

    @api.depends("team_id")
    def _compute_stage_id(self):
        Lead = self.env["crm.lead"]
        rules = self.env["crm.stage"]._get_process_rules()
        for wizard in self:
            wizard.stage_id = Lead._get_pipeline_first_stage_id(rules, wizard.team_id.id) if wizard.team_id else False

    @api.constrains("team_id", "stage_id")
    def _check_stage_id(self):
        """The stage offered is one of the pipeline's, open (the lead's gate checks its pipelines
        too, but not those nobody configured, which plain Odoo lets hold any stage)."""
        rules = self.env["crm.stage"]._get_process_rules()
        for wizard in self:
            if wizard.stage_id.is_won or not self.env["crm.lead"]._is_pipeline_stage(
                    rules, wizard.stage_id.id, wizard.team_id.id):
                raise ValidationError(_(
                    "Stage “%(stage)s” is not an open stage of pipeline “%(team)s”: choose one of its stages.",
                    stage=wizard.stage_id.display_name, team=wizard.team_id.display_name))

    def action_create_opportunities(self):
        """Create the opportunities of the contacts with none open in the pipeline, in one batch,
        and say how many were created and skipped; open the created ones."""
        self.ensure_one()
        self._check_stage_id()
        partners = self.partner_ids
        # an opportunity the user may not see still counts: no second one for the same contact
        open_leads = self.env["crm.lead"].sudo()._read_group(
            [("partner_id", "in", partners.ids), ("team_id", "=", self.team_id.id),
             ("type", "=", "opportunity"), ("stage_id.is_won", "=", False)],
            ["partner_id"])
        skipped = self.env["res.partner"].browse([partner.id for partner, in open_leads])
        todo = partners - skipped
        leads = self.env["crm.lead"]
        if todo:
            leads = self.env["crm.lead"].create([{
                "name": _("%(partner)s's opportunity", partner=partner.display_name),
                "type": "opportunity",
                "partner_id": partner.id,
                "team_id": self.team_id.id,
                "stage_id": self.stage_id.id,
                "user_id": self.user_id.id,
            } for partner in todo])
        message = _("%(created)s opportunities created in %(team)s, %(skipped)s skipped (already open in %(team)s).",
                    created=len(leads), skipped=len(skipped), team=self.team_id.display_name)
        if skipped:
            names = skipped.sudo().mapped("display_name")
            message += " " + ", ".join(names[:10]) + ("…" if len(names) > 10 else "")
        params = {
            "title": _("Create Opportunities"),
            "message": message,
            "type": "success" if leads else "warning",
            "sticky": True,
        }
        if leads:
            params["next"] = {
                "type": "ir.actions.act_window",
                "name": _("Created Opportunities"),
                "res_model": "crm.lead",
                "view_mode": "list,kanban,form",
                "views": [(False, "list"), (False, "kanban"), (False, "form")],
                "domain": [("id", "in", leads.ids)],
                "context": {"default_type": "opportunity", "default_team_id": self.team_id.id},
            }
        return {"type": "ir.actions.client", "tag": "display_notification", "params": params}
