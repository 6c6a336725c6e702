"""18.0.1.4.0: checklist items may name who completes them. The seeded B2B pipeline is
``noupdate``: its "Approve the contract" is made the team leader's approval here, only where the
consultant left it as seeded (the team leader's item, completed by whoever works on the lead), with
its lines not done yet."""
from odoo import SUPERUSER_ID, api

MODULE = "sales_process_stages"
APPROVALS = ["crm_stage_checklist_item_b2b_contract_approve"]


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {"active_test": False})
    for xmlid in APPROVALS:
        item = env.ref(f"{MODULE}.{xmlid}", raise_if_not_found=False)
        if item and item.responsible_type == "team_leader" and item.completer_type == "assignee":
            item.completer_type = "team_leader"
            env["crm.lead.checklist.line"].search([
                ("item_id", "=", item.id), ("state", "in", ("open", "waiting")),
                ("completer_type", "=", "assignee"),
            ]).write({"completer_type": "team_leader"})
