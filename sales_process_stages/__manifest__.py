# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Sales Process Stages",
    "summary": "Turn the CRM pipeline into a managed sales process: stage "
    "checklists, entry requirements, SLA timers, loss reasons, industry pipelines",
    "version": "18.0.1.0.0",
    "category": "Sales/CRM",
    "license": "LGPL-3",
    "author": "sales_process_stages developers",
    "website": "https://example.com/sales_process_stages",
    "depends": ["crm", "mail", "resource"],
    "data": [
        "security/sales_process_stages_security.xml",
        "security/ir.model.access.csv",
        "security/crm_lead_stage_history_security.xml",
        "data/mail_activity_type_data.xml",
        "data/ir_cron_data.xml",
        "views/crm_stage_checklist_item_views.xml",
        "views/crm_lead_checklist_line_views.xml",
        "views/crm_stage_views.xml",
        "views/crm_team_views.xml",
        "views/crm_lead_views.xml",
        "wizard/crm_lead_stage_move_views.xml",
        "views/crm_lead_stage_history_views.xml",
        "data/crm_lead_stage_history_data.xml",
        "views/sales_process_stages_menus.xml",
    ],
    "demo": [],
    "assets": {
        "web.assets_tests": [
            "sales_process_stages/static/tests/tours/**/*",
        ],
    },
    "installable": True,
    "application": False,
}
