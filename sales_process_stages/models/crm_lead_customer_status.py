"""The customer status on the lead (``res.partner.customer_status``, defined in
``tools/customer_status.py``), and the transitions that change it at once: an opportunity won,
reopened, lost, restored won, deleted, or a won one changing customer or closing date. The
customers concerned are updated in the transition's apply step (see ``crm_lead.py``), in one
statement for the batch (``res.partner._customer_status_update``)."""

from odoo import api, fields, models


class CrmLead(models.Model):
    _inherit = "crm.lead"

    # searchable and groupable (a related field's SQL joins the customer): filters, group-bys,
    # automation rules' conditions; read with the customer, no query of its own on the cards
    partner_customer_status = fields.Selection(
        related="partner_id.customer_status", string="Customer Status",
        help="The customer's status: prospect, new, regular or lapsed customer (from the won opportunities "
        "of the customer's company and all its contacts).")

    @api.model
    def _get_process_computed_fields(self):
        return super()._get_process_computed_fields() | {"partner_customer_status"}

    # ------------------------------------------------------------
    # TRANSITION: apply
    # ------------------------------------------------------------

    @api.model
    def _stage_transition_fields(self):
        # a won opportunity changing customer, or its closing date, changes customers' statuses
        return super()._stage_transition_fields() | {"partner_id", "date_closed"}

    @api.model
    def _stage_transition_snapshot_fields(self):
        return [*super()._stage_transition_snapshot_fields(), "partner_id", "date_closed"]

    def _apply_transition_customer_status(self, transitions):
        """The customers of opportunities that are won or stop being won (reopened, lost), and of
        won ones that change customer or closing date, get their status now."""
        rules = self.env["crm.stage"]._get_process_rules()

        def is_won(active, stage_id):
            return bool(active and rules.stage(stage_id).is_won)

        partner_ids = set()
        for transition in transitions:
            lead, old = transition.lead, transition.old
            was_won = is_won(transition.was_active, transition.old_stage_id)
            won = is_won(lead.active, lead.stage_id.id)
            if not (was_won or won):
                continue
            old_partner_id = old.get("partner_id", False)
            if was_won != won or old_partner_id != lead.partner_id.id or "date_closed" in transition.vals:
                partner_ids.update({old_partner_id, lead.partner_id.id} - {False})
        if partner_ids:
            self.env["res.partner"]._customer_status_update(list(partner_ids))


    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    def unlink(self):
        """Deleting a won opportunity: its customer's status follows."""
        rules = self.env["crm.stage"]._get_process_rules()
        partner_ids = list({
            lead.partner_id.id for lead in self.sudo()
            if lead.partner_id and lead.active and rules.stage(lead.stage_id.id).is_won
        })
        res = super().unlink()
        if partner_ids:
            self.env["res.partner"]._customer_status_update(partner_ids)
        return res
