"""18.0.1.5.0: the welcome email when won is the won stage's email (``crm.stage.mail_template_id``,
sent at the win), no longer an automation rule with a zero delay (which made Odoo run every
time-based rule of the database only every 4 hours). Each seeded welcome rule still there becomes
its won stage's email, with the template the rule sends now; the rule and its action are deleted.
A rule the consultant deleted stays deleted, one they archived is deleted without an email set, one
they moved to another filter is theirs and stays; a stage that already has an email keeps it.

The seeded won stages come after crm's own Won (sequence 70), as the B2B one already did: crm takes
the first won stage by sequence when it looks for "the" won stage (its lead scoring, its tests), and
a seeded one first made crm pick a stage of another pipeline. Moved only where the consultant left
the seeded sequence.

The B2B pipeline's signed contract wins the deal and its won deals are locked, as a new install
seeds them: only where the item moves the lead nowhere yet, and on the seeded B2B team; its
"Approve the contract" is an approval (approve or reject), where it is still the team leader's."""
from odoo import SUPERUSER_ID, api

MODULE = "sales_process_stages"
PIPELINES = ("pv", "insurance", "saas", "b2b")
# won stage: the sequence 18.0.1.4.0 seeded
WON_SEQUENCES = {"pv": 50, "insurance": 50, "saas": 60}
WON_SEQUENCE = 100


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {"active_test": False})
    for key, sequence in WON_SEQUENCES.items():
        stage = env.ref(f"{MODULE}.crm_stage_{key}_won", raise_if_not_found=False)
        if stage and stage.sequence == sequence:
            stage.sequence = WON_SEQUENCE
    signed = env.ref(f"{MODULE}.crm_stage_checklist_item_b2b_contract_signed_contract", raise_if_not_found=False)
    b2b_won = env.ref(f"{MODULE}.crm_stage_b2b_won", raise_if_not_found=False)
    if signed and b2b_won and not signed.move_to_stage_id and b2b_won.team_id == signed.stage_id.team_id:
        signed.move_to_stage_id = b2b_won
        b2b_won.team_id.lock_won_leads = True
    approve = env.ref(f"{MODULE}.crm_stage_checklist_item_b2b_contract_approve", raise_if_not_found=False)
    if approve and approve.completer_type == "team_leader":
        approve.is_approval = True
    for key in PIPELINES:
        rule = env.ref(f"{MODULE}.base_automation_{key}_won_welcome", raise_if_not_found=False)
        if not rule:
            continue
        stage = env.ref(f"{MODULE}.crm_stage_{key}_won", raise_if_not_found=False)
        if not stage or rule.filter_domain != f"[('stage_id', '=', {stage.id})]":
            continue  # the consultant's rule now
        templates = rule.action_server_ids.template_id
        if rule.active and len(templates) == 1 and not stage.mail_template_id:
            stage.mail_template_id = templates
        rule.action_server_ids.unlink()
        rule.unlink()
