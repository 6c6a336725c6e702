"""Aggregates Odoo's ``read_group`` lacks, for the addon's reports (``_read_group_select``)."""

from odoo.models import parse_read_group_spec
from odoo.tools import SQL


def median_select(model, aggregate_spec, query):
    """The ``median`` aggregator of a numeric field: the median of the group's rows, computed by
    PostgreSQL (``PERCENTILE_CONT(0.5)``), totals included: a true median whatever the grouping,
    never a median of medians nor an average.

    :return: the SQL of the aggregate, or None when ``aggregate_spec`` is not a median"""
    if aggregate_spec == "__count":
        return None
    fname, __, func = parse_read_group_spec(aggregate_spec)
    field = model._fields.get(fname)
    if func != "median" or not field or field.type not in ("float", "integer"):
        return None
    # the field checked as for any aggregate (the ORM's own field to SQL)
    return SQL("PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY %s)", model._field_to_sql(model._table, fname, query))
