MODULE = "sales_process_stages"


def uninstall_hook(env):
    """Delete the automation rules (seeded or made by users) that use this addon's own fields
    in their trigger fields, date field, watched fields or filters: without the fields they
    would fail each time they run. Rules using only Odoo's fields stay."""
    env["base.automation"]._unlink_rules_using_module_fields(MODULE)
