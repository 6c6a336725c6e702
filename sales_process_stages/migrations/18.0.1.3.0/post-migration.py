"""18.0.1.3.0: speed to lead. SLAs may count minutes; each lead records its first response.

- The seeded pipelines are ``noupdate``: an upgrade does not touch them. Their first stages get
  the speed-to-lead SLA of a new install (minutes for PV and insurance web leads, hours for SaaS
  and B2B) where the consultant left their SLA as 18.0.1.2.0 seeded it; their "Call the lead"
  items are then due the day the lead comes in (if still due after one day). The items'
  descriptions, translated, stay as they are.
- Existing leads get the first response their history shows (the completed calls, emails and
  meetings in their chatter, their first move out of a stage), measured against the SLA of the
  stage they were created in before the seeded ones change; the others get theirs at their next
  call or move.
"""
from odoo import SUPERUSER_ID, api

MODULE = "sales_process_stages"
# the first stages' SLA as 18.0.1.2.0 seeded it
SEEDED_SLA = {
    "sla_enabled": True, "sla_duration": 1.0, "sla_duration_unit": "days", "sla_time_basis": "working",
    "sla_due_soon_type": "percent", "sla_due_soon_percent": 75.0, "sla_escalate": True, "sla_notify_leader": True,
    "sla_leader_delay": 4.0, "sla_leader_delay_unit": "hours",
}
# stage: (its new SLA, its call item)
FIRST_STAGES = {
    "crm_stage_pv_new": ({
        "sla_duration": 15, "sla_duration_unit": "minutes", "sla_due_soon_type": "before",
        "sla_due_soon_before": 5, "sla_due_soon_before_unit": "minutes",
        "sla_leader_delay": 15, "sla_leader_delay_unit": "minutes",
    }, "crm_stage_checklist_item_pv_new_call"),
    "crm_stage_insurance_new": ({
        "sla_duration": 10, "sla_duration_unit": "minutes", "sla_due_soon_percent": 50,
        "sla_leader_delay": 10, "sla_leader_delay_unit": "minutes",
    }, "crm_stage_checklist_item_insurance_new_call"),
    "crm_stage_saas_new": ({
        "sla_duration": 1, "sla_duration_unit": "hours", "sla_leader_delay": 1, "sla_leader_delay_unit": "hours",
    }, "crm_stage_checklist_item_saas_new_call"),
    "crm_stage_b2b_interest": ({
        "sla_duration": 4, "sla_duration_unit": "hours", "sla_due_soon_type": "before",
        "sla_due_soon_before": 1, "sla_due_soon_before_unit": "hours",
    }, "crm_stage_checklist_item_b2b_interest_call"),
}


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {"active_test": False})
    # first the leads' past, measured against the SLAs they were under
    env["crm.lead"]._first_response_rebuild()
    for stage_xmlid, (sla, item_xmlid) in FIRST_STAGES.items():
        stage = env.ref(f"{MODULE}.{stage_xmlid}", raise_if_not_found=False)
        if not stage or any(stage[name] != value for name, value in SEEDED_SLA.items()):
            continue
        stage.write(sla)  # its open leads get the new deadlines
        item = env.ref(f"{MODULE}.{item_xmlid}", raise_if_not_found=False)
        if item and item.stage_id == stage and (item.due_offset, item.due_offset_unit) == (1, "days"):
            item.due_offset = 0
