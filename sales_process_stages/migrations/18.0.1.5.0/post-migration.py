"""18.0.1.5.0: the seeded welcome emails are sent at the win. They were time-based rules on the
lead's Closed Date with a delay of 0 hours, and a time-based rule of zero delay makes Odoo run its
scheduled action of the automation rules every 4 hours (``base.automation._get_cron_interval``):
every time-based rule of the database ran up to 4 hours late. The rules are ``noupdate``: each is
made a rule "Stage is set to" its won stage, once per lead, as ``data/base_automation_data.xml``
now seeds it, only where the consultant left its trigger as seeded. Leads won since the rule last
ran get their welcome now, as the scheduled action would have sent it at its next run.

The won stages of the PV, insurance and SaaS pipelines come after every stage crm shares between
pipelines (sequence 100, as the B2B one), where left at their seeded sequence: a search for the
database's first won stage finds crm's shared one, which every pipeline may use."""
from odoo import SUPERUSER_ID, api, fields

MODULE = "sales_process_stages"
# the welcome rules and the won stage each one names
WELCOMES = {
    "base_automation_pv_won_welcome": "crm_stage_pv_won",
    "base_automation_insurance_won_welcome": "crm_stage_insurance_won",
    "base_automation_saas_won_welcome": "crm_stage_saas_won",
    "base_automation_b2b_won_welcome": "crm_stage_b2b_won",
}

# the won stages seeded before every shared stage: their sequence then
WON_STAGE_SEQUENCES = {"crm_stage_pv_won": 50, "crm_stage_insurance_won": 50, "crm_stage_saas_won": 60}
WON_STAGE_SEQUENCE = 100


def _as_seeded(rule, stage, date_closed):
    """Whether the rule's trigger and filters are still those 18.0.1.4.0 seeded."""
    return (
        rule.model_name == "crm.lead" and rule.trigger == "on_time" and rule.trg_date_id == date_closed
        and not rule.trg_date_range and rule.trg_date_range_type == "hour" and not rule.trg_date_calendar_id
        and not rule.filter_pre_domain and rule.filter_domain == str([("stage_id", "=", stage.id)])
    )


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {"active_test": False})
    date_closed = env["ir.model.fields"]._get("crm.lead", "date_closed")
    for rule_xmlid, stage_xmlid in WELCOMES.items():
        rule = env.ref(f"{MODULE}.{rule_xmlid}", raise_if_not_found=False)
        stage = env.ref(f"{MODULE}.{stage_xmlid}", raise_if_not_found=False)
        if not (rule and stage and _as_seeded(rule, stage, date_closed)):
            continue
        if rule.active and rule.last_run:
            # what the scheduled action would have sent at its next run
            pending = env["crm.lead"].search([
                ("stage_id", "=", stage.id), ("date_closed", ">=", rule.last_run),
                ("date_closed", "<", fields.Datetime.now()),
            ])
            if pending:
                rule._process(pending)
        rule.write({
            "trigger": "on_stage_set",
            "trg_field_ref": stage.id,
            "filter_pre_domain": str([("stage_history_ids", "not any", [("stage_id", "=", stage.id)])]),
            "filter_domain": str([("stage_id", "=", stage.id)]),
        })
    for stage_xmlid, sequence in WON_STAGE_SEQUENCES.items():
        stage = env.ref(f"{MODULE}.{stage_xmlid}", raise_if_not_found=False)
        if stage and stage.sequence == sequence:
            stage.sequence = WON_STAGE_SEQUENCE
