"""18.0.1.1.0: checklist lines and stays are written by thousands at each mass move, so they carry
fewer indexes and no create/write user and date (see the models). Odoo keeps indexes and columns
its fields no longer declare: drop them."""
from odoo.tools import SQL

DROPPED_INDEXES = [
    "crm_lead_checklist_line__lead_id_index",  # the unique (lead_id, item_id) index serves it
    "crm_lead_checklist_line__company_id_index",
    "crm_lead_checklist_line__stage_id_index",
    "crm_lead_checklist_line__state_index",
    "crm_lead_stage_history__company_id_index",
    "crm_lead_stage_history__team_id_index",
    "crm_lead_stage_history__user_id_index",
]
LOG_COLUMNS = ["create_uid", "create_date", "write_uid", "write_date"]


def migrate(cr, version):
    for index in DROPPED_INDEXES:
        cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(index)))
    for table in ("crm_lead_checklist_line", "crm_lead_stage_history"):
        cr.execute(SQL("ALTER TABLE %s %s", SQL.identifier(table), SQL(", ").join(
            SQL("DROP COLUMN IF EXISTS %s", SQL.identifier(column)) for column in LOG_COLUMNS)))
