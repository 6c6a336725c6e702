"""The customer status of a contact, defined once: prospect, new customer, regular customer,
lapsed customer, from the won opportunities of its commercial entity (the company and all its
contacts, as crm's ``res.partner.action_view_opportunity`` counts a company's opportunities).

``customer_status_sql`` is the one definition: the contact's stored status is computed with it
(``res.partner._compute_customer_status``), updated with it when an opportunity is won, reopened,
lost, deleted or changes customer (``crm_lead_customer_status.py``), when the settings change, and
by the daily sweep (``res.partner._cron_update_customer_status``) when time moves the last months
on. With the status it gives the moment it ends by itself if nothing else happens (``until``: a
regular customer's third last deal, a new customer's last one, leaving the last months): the
sweep selects the contacts whose moment has come, by an index, as the SLA sweep does its leads.

Won: an active opportunity in a won stage (``stage_id.is_won``); its won date is crm's Closed Date
(``date_closed``), or its creation date when it was created in a won stage without one. Lost
(archived) opportunities and leads not converted to opportunities do not count. A deal won on a
date counts in the last months until that date plus the months.
"""

from odoo.tools import SQL

CUSTOMER_STATUSES = [
    ("prospect", "Prospect"),
    ("new", "New Customer"),
    ("regular", "Regular Customer"),
    ("lapsed", "Lapsed Customer"),
]

# the two thresholds (CRM settings): at least COUNT won opportunities in the last MONTHS months
# make a regular customer; none in them, a lapsed one
REGULAR_COUNT_PARAM = "sales_process_stages.customer_regular_count"
REGULAR_MONTHS_PARAM = "sales_process_stages.customer_regular_months"
THRESHOLDS = {
    # key: (default, lowest, highest)
    REGULAR_COUNT_PARAM: (3, 1, 1000),
    REGULAR_MONTHS_PARAM: (12, 1, 1200),
}


def parse_threshold(key, value):
    """The threshold ``key`` as an integer in its range; None when ``value`` is not one."""
    __, lowest, highest = THRESHOLDS[key]
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if lowest <= number <= highest else None


def customer_status_sql(now, regular_count, months, contacts=None, changed=False):
    """The customer status of contacts at ``now``, as
    ``SELECT contact.id, status, until FROM res_partner contact ...``: ``until`` is when the
    status ends by itself if nothing else changes (null for prospects and lapsed customers).

    :param now: the moment (UTC)
    :param regular_count: won opportunities in the last months that make a regular customer
    :param months: the last months
    :param contacts: None: every contact; else contact ids (a list, or SQL selecting them): the
        contacts of their commercial entities (a contact's status is its commercial entity's)
    :param changed: only the contacts whose stored status or its end is another
    """
    status = SQL("""
        CASE WHEN won.family_id IS NULL THEN 'prospect'
             WHEN won.recent >= %(regular_count)s THEN 'regular'
             WHEN won.recent > 0 THEN 'new'
             ELSE 'lapsed' END""", regular_count=regular_count)
    until = SQL("""
        CASE WHEN won.recent >= %(regular_count)s THEN won.regular_until
             WHEN won.recent > 0 THEN won.last_until END""", regular_count=regular_count)
    where, customers = [], SQL()
    if contacts is not None:
        if not isinstance(contacts, SQL):
            contacts = SQL("SELECT unnest(%s::int[])", list(contacts))
        families = SQL("(SELECT commercial_partner_id FROM res_partner WHERE id IN (%s))", contacts)
        where.append(SQL("contact.commercial_partner_id IN %s", families))
        customers = SQL("AND customer.commercial_partner_id IN %s", families)
    if changed:
        where.append(SQL("(contact.customer_status, contact.customer_status_until) IS DISTINCT FROM (%s, %s)",
                         status, until))
    return SQL("""
        SELECT contact.id, %(status)s AS status, %(until)s AS until
          FROM res_partner contact
          LEFT JOIN (
                -- each won deal counts until its won date plus the months
                SELECT customer.commercial_partner_id AS family_id,
                       count(*) FILTER (WHERE deal.until > %(now)s) AS recent,
                       max(deal.until) AS last_until,
                       (array_agg(deal.until ORDER BY deal.until DESC))[%(regular_count)s] AS regular_until
                  FROM crm_lead lead
                  JOIN crm_stage stage ON stage.id = lead.stage_id
                  JOIN res_partner customer ON customer.id = lead.partner_id
                 CROSS JOIN LATERAL (
                    SELECT COALESCE(lead.date_closed, lead.create_date) + make_interval(months => %(months)s) AS until
                 ) deal
                 WHERE lead.active AND lead.type = 'opportunity' AND stage.is_won %(customers)s
                 GROUP BY customer.commercial_partner_id
          ) won ON won.family_id = contact.commercial_partner_id
        %(where)s
    """, status=status, until=until, now=now, months=months, regular_count=regular_count, customers=customers,
        where=SQL("WHERE %s", SQL(" AND ").join(where)) if where else SQL())
