"""Won deals locked: in a pipeline that locks them (``crm.team.lock_won_leads``), a won lead is
changed only by sales managers. Checked in ``write``, on every path (form, kanban, import, RPC);
the chatter (messages, activities) goes on, and the process's own steps after a move (its apply
step) write what they must."""

from odoo import _, models
from odoo.exceptions import UserError

from ..tools.stage_transition import is_applying_transitions

# written by mail and base_automation on any record a user may post on: not the deal itself
UNLOCKED_FIELD_PREFIXES = ("message_", "activity_", "website_message")
UNLOCKED_FIELDS = {"date_automation_last"}


class CrmLead(models.Model):
    _inherit = "crm.lead"

    def write(self, vals):
        self._check_won_lock(vals)
        return super().write(vals)

    def _check_won_lock(self, vals):
        """Refuse changing a locked won deal, but for sales managers and the superuser."""
        if self.env.su or is_applying_transitions() or not self:
            return
        fields_written = {name for name in vals
                          if name not in UNLOCKED_FIELDS and not name.startswith(UNLOCKED_FIELD_PREFIXES)}
        if not fields_written:
            return
        locking = self.env["crm.stage"]._get_process_rules().won_locked_teams
        if not locking or self.env.user.has_group("sales_team.group_sale_manager"):
            return  # no pipeline locks (plain Odoo costs nothing more)
        locked = self.sudo().filtered(
            lambda lead: lead.team_id.id in locking and lead.active and lead.stage_id.is_won)
        if locked:
            raise UserError(_(
                "“%(lead)s” is won and its pipeline “%(team)s” locks won deals: only a sales manager changes it.",
                lead=locked[0].display_name, team=locked[0].team_id.display_name))
