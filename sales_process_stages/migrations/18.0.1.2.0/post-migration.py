"""18.0.1.2.0: checklist items may wait for items of their stage. The seeded B2B pipeline is
``noupdate``: an upgrade does not touch it, so its sequential steps are set here, only where the
consultant left the items as seeded (both still there, in the same stage, with no waits yet)."""
from odoo import SUPERUSER_ID, api

MODULE = "sales_process_stages"
# item: the item it starts after
B2B_STEPS = [
    ("crm_stage_checklist_item_b2b_proposal_write", "crm_stage_checklist_item_b2b_proposal_calculation"),
    ("crm_stage_checklist_item_b2b_contract_approve", "crm_stage_checklist_item_b2b_contract_prepare"),
    ("crm_stage_checklist_item_b2b_contract_signed_contract", "crm_stage_checklist_item_b2b_contract_approve"),
]


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {"active_test": False})
    for item_xmlid, before_xmlid in B2B_STEPS:
        item = env.ref(f"{MODULE}.{item_xmlid}", raise_if_not_found=False)
        before = env.ref(f"{MODULE}.{before_xmlid}", raise_if_not_found=False)
        if item and before and item.stage_id == before.stage_id and not item.depends_on_ids:
            item.depends_on_ids = [(6, 0, before.ids)]
