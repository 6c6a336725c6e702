"""18.0.1.5.0: the welcome email when won is the won stage's email (``crm.stage.mail_template_id``,
sent at the win), no longer an automation rule with a zero delay (which made Odoo run every
time-based rule of the database only every 4 hours). Each seeded welcome rule still there becomes
its won stage's email, with the template the rule sends now; the rule and its action are deleted.
A rule the consultant deleted stays deleted, one they archived is deleted without an email set, one
they moved to another filter is theirs and stays; a stage that already has an email keeps it."""
from odoo import SUPERUSER_ID, api

MODULE = "sales_process_stages"
PIPELINES = ("pv", "insurance", "saas", "b2b")


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {"active_test": False})
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
