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
    "data": [],
    "demo": [],
    "assets": {
        "web.assets_tests": [
            "sales_process_stages/static/tests/tours/**/*",
        ],
    },
    "installable": True,
    "application": False,
}
