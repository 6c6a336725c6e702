"""The customer status of a contact, defined once: prospect, new customer, regular customer,
lapsed customer, from the won opportunities of its commercial entity (the company and all its
contacts, as crm's ``res.partner.action_view_opportunity`` counts a company's opportunities).

``customer_status_sql`` is the one definition: the contact's stored status is computed with it
(``res.partner._compute_customer_status``), updated with it when an opportunity is won, reopened,
lost, deleted or changes customer (``crm_lead_customer_status.py``), and by the daily sweep
(``res.partner._cron_update_customer_status``) when time moves the last months on.

Won: an active opportunity in a won stage (``stage_id.is_won``); its won date is crm's Closed Date
(``date_closed``), or its creation date when it was created in a won stage without one. Lost
(archived) opportunities and leads not converted to opportunities do not count.
"""

from odoo.tools import SQL

CUSTOMER_STATUSES = [
    ("prospect", "Prospect"),
    ("new", "New Customer"),
    ("regular", "Regular Customer"),
    ("lapsed", "Lapsed Customer"),
]
# customers who bought before: the lead's "returning customer" badge and filter
RETURNING_STATUSES = ("new", "regular", "lapsed")

# the two thresholds (CRM settings): at least COUNT won opportunities in the last MONTHS months
# make a regular customer; none in them, a lapsed one
REGULAR_COUNT_PARAM = "sales_process_stages.customer_regular_count"
REGULAR_MONTHS_PARAM = "sales_process_stages.customer_regular_months"
THRESHOLDS = {
    # key: (default, lowest, highest)
    REGULAR_COUNT_PARAM: (3, 1, 10000),
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


def customer_status_sql(since, regular_count, partner_ids=None):
    """The customer status of contacts, as ``SELECT id, status``.

    :param since: start of the last months (UTC): won opportunities closed since then are recent
    :param regular_count: recent won opportunities that make a regular customer
    :param partner_ids: None: every contact; else the contacts of the commercial entities of
        these contacts (a contact's status is its commercial entity's)
    """
    if partner_ids is None:
        contacts, customers = SQL(), SQL()
    else:
        families = SQL("(SELECT commercial_partner_id FROM res_partner WHERE id = ANY(%s))", list(partner_ids))
        contacts = SQL("WHERE contact.commercial_partner_id IN %s", families)
        customers = SQL("AND customer.commercial_partner_id IN %s", families)
    return SQL("""
        SELECT contact.id,
               CASE WHEN won.family_id IS NULL THEN 'prospect'
                    WHEN won.recent >= %(regular_count)s THEN 'regular'
                    WHEN won.recent > 0 THEN 'new'
                    ELSE 'lapsed' END AS status
          FROM res_partner contact
          LEFT JOIN (
                SELECT customer.commercial_partner_id AS family_id,
                       count(*) FILTER (WHERE COALESCE(lead.date_closed, lead.create_date) >= %(since)s) AS recent
                  FROM crm_lead lead
                  JOIN crm_stage stage ON stage.id = lead.stage_id
                  JOIN res_partner customer ON customer.id = lead.partner_id
                 WHERE lead.active AND lead.type = 'opportunity' AND stage.is_won %(customers)s
                 GROUP BY customer.commercial_partner_id
          ) won ON won.family_id = contact.commercial_partner_id
        %(contacts)s
    """, since=since, regular_count=regular_count, customers=customers, contacts=contacts)
