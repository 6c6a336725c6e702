"""The customer status of contacts (``tools/customer_status.py`` defines it once): prospect, new,
regular or lapsed customer, the same for a company and all its contacts.

The status is computed by the sales process and readonly for users: stored, written set-based,
in SQL on the addon's own column, by the opportunities' transitions (``crm_lead_customer_status.py``)
and by the daily sweep (``_cron_update_customer_status``), which catches the passing of time (a
won deal older than the last months no longer counts: time is no ``@api.depends``). The ORM
computes it (``compute=``) when a contact is created or joins another company; a client never
writes it (``_check_customer_status_written``)."""

import logging
import threading
import time

from dateutil.relativedelta import relativedelta
from psycopg2 import errors as pg_errors

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL
from odoo.tools.sql import column_exists, create_column

from ..tools.customer_status import (
    CUSTOMER_STATUSES,
    REGULAR_COUNT_PARAM,
    REGULAR_MONTHS_PARAM,
    THRESHOLDS,
    customer_status_sql,
    parse_threshold,
)

_logger = logging.getLogger(__name__)

# fields of the opportunities and stages the status reads (flushed before its SQL runs)
LEAD_FIELDS = ["active", "type", "stage_id", "partner_id", "date_closed", "create_date"]
CRON_XMLID = "sales_process_stages.ir_cron_res_partner_customer_status"


class ResPartner(models.Model):
    _inherit = "res.partner"

    customer_status = fields.Selection(
        CUSTOMER_STATUSES, compute="_compute_customer_status", store=True,
        readonly=True, copy=False,
        help="From the won opportunities of the contact's company (the company's own and all its contacts'): "
        "prospect, none won; new customer, won in the last months, fewer times than a regular customer; "
        "regular customer, won at least as many times as the CRM settings say in the last months; lapsed "
        "customer, won before, none in the last months. Computed by the sales process: updated when an "
        "opportunity is won, reopened, lost or deleted, and every day.")

    @api.depends("commercial_partner_id")
    def _compute_customer_status(self):
        """The status of the contact's commercial entity (the definition's SQL). The passing of time
        and the opportunities' transitions are no dependencies: the sweep and the transitions
        update the stored values (``_customer_status_update``)."""
        saved = self.filtered("id")
        statuses = {}
        if saved:
            self._customer_status_flush(status=False)
            since, regular_count = self._customer_status_thresholds()
            self.env.cr.execute(customer_status_sql(since, regular_count, saved.ids))
            statuses = dict(self.env.cr.fetchall())
        for partner in self:
            if partner.id:
                partner.customer_status = statuses.get(partner.id, "prospect")
            else:  # a contact being created in a form: its company's
                partner.customer_status = partner.commercial_partner_id._origin.customer_status or "prospect"

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    def _auto_init(self):
        """Installing on a database full of contacts: the column is created and filled in one
        statement here, rather than computed by the ORM contact by contact."""
        if not column_exists(self.env.cr, self._table, "customer_status"):
            create_column(self.env.cr, self._table, "customer_status", "varchar")
            since, regular_count = self._customer_status_thresholds()
            self.env.cr.execute(SQL(
                "UPDATE res_partner partner SET customer_status = status.status FROM (%s) status "
                "WHERE status.id = partner.id", customer_status_sql(since, regular_count)))
        return super()._auto_init()

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_customer_status_written(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._check_customer_status_written(vals)
        if not {"parent_id", "is_company"}.intersection(vals):
            return super().write(vals)
        # a contact joining or leaving a company moves its won opportunities with it: both
        # companies' statuses follow
        families = self.commercial_partner_id.ids
        res = super().write(vals)
        self._customer_status_update(families + self.ids)
        return res

    def unlink(self):
        # the opportunities of deleted contacts lose their customer: their companies' status follows
        families = (self.commercial_partner_id - self).ids
        res = super().unlink()
        self._customer_status_update(families)
        return res

    @api.model
    def _check_customer_status_written(self, vals):
        """The status is the process's: a client cannot make a prospect a regular customer."""
        if "customer_status" in vals and not self.env.su:
            raise UserError(_(
                "%(fields)s is computed by the sales process: it cannot be written.",
                fields=self.fields_get(["customer_status"], ["string"])["customer_status"]["string"]))

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    def _customer_status_settings(self):
        """(regular count, months): the number of won opportunities in the last months that makes a
        regular customer, and how many months (CRM settings). The settings refuse bad values; a
        value written around them (SQL) counts as unset: the default."""
        Param = self.env["ir.config_parameter"].sudo()
        return tuple(
            parse_threshold(key, Param.get_param(key, THRESHOLDS[key][0])) or THRESHOLDS[key][0]
            for key in (REGULAR_COUNT_PARAM, REGULAR_MONTHS_PARAM)
        )

    @api.model
    def _customer_status_thresholds(self):
        """(since, regular count): the start of the last months, now, and the number of won
        opportunities in them that makes a regular customer."""
        count, months = self._customer_status_settings()
        return self.env.cr.now() - relativedelta(months=months), count

    @api.model
    def _customer_status_flush(self, status=True):
        """What the definition's SQL reads (and, with ``status``, the stored statuses it compares
        with), written to the database first."""
        self.env["crm.lead"].flush_model(LEAD_FIELDS)
        self.env["crm.stage"].flush_model(["is_won"])
        self.flush_model(["commercial_partner_id", "customer_status"] if status else ["commercial_partner_id"])

    @api.model
    def _customer_status_update(self, partner_ids=None, limit=None):
        """Store, in one statement, the status of the contacts whose status changed: the contacts
        of the commercial entities of ``partner_ids``, or every contact.

        :param partner_ids: contact ids: they, their companies and the companies' contacts are
            updated; None: every contact (the sweep)
        :param limit: update at most ``limit`` contacts no other transaction holds (the sweep's
            batches); None: all of them, waiting for the others
        :return: the contacts updated
        """
        if partner_ids is not None and not partner_ids:
            return self.browse()
        self._customer_status_flush()
        since, regular_count = self._customer_status_thresholds()
        statuses = customer_status_sql(since, regular_count, partner_ids)
        if limit is None:
            query = SQL("""
                UPDATE res_partner partner SET customer_status = status.status
                  FROM (%(statuses)s) status
                 WHERE partner.id = status.id AND partner.customer_status IS DISTINCT FROM status.status
             RETURNING partner.id
            """, statuses=statuses)
        else:
            query = SQL("""
                WITH status AS (%(statuses)s),
                todo AS (
                    SELECT partner.id, status.status
                      FROM res_partner partner JOIN status ON status.id = partner.id
                     WHERE partner.customer_status IS DISTINCT FROM status.status
                     ORDER BY partner.id
                     LIMIT %(limit)s
                       FOR UPDATE OF partner SKIP LOCKED
                )
                UPDATE res_partner partner SET customer_status = todo.status
                  FROM todo
                 WHERE partner.id = todo.id
             RETURNING partner.id
            """, statuses=statuses, limit=limit)
        self.env.cr.execute(query, log_exceptions=False)
        partners = self.browse([row[0] for row in self.env.cr.fetchall()])
        if partners:
            # what the statement changed: the cache forgets it, what depends on it follows
            partners.invalidate_recordset(["customer_status"])
            partners.modified(["customer_status"])
        return partners

    @api.model
    def _customer_status_update_later(self):
        """The settings changed: the sweep runs at once, in the background."""
        cron = self.env.ref(CRON_XMLID, raise_if_not_found=False)
        if cron:
            cron.sudo()._trigger()

    # ------------------------------------------------------------
    # SCHEDULED SWEEP
    # ------------------------------------------------------------

    @api.model
    def _cron_update_customer_status(self, batch_size=10000, time_limit=60, auto_commit=None):
        """Catch the passing of time: the contacts whose status changed (a won deal leaving the
        last months, a lapsed customer) get it, set-based, by batches of ``batch_size`` contacts
        (``FOR UPDATE SKIP LOCKED``: two workers share the work), each committed out of tests.
        Only the contacts whose status changes are written. After ``time_limit`` seconds the run
        reports the work left (``ir.cron._notify_progress``) and the scheduler runs it again.

        :return: number of contacts updated
        """
        if auto_commit is None:
            auto_commit = not getattr(threading.current_thread(), "testing", False)
        stop_at = time.monotonic() + time_limit
        Partner = self.sudo()
        done = 0
        while batch_size > 0:
            count = Partner._customer_status_sweep_batch(batch_size, auto_commit)
            done += count
            if count < batch_size:
                break
            if time.monotonic() >= stop_at:
                self.env["ir.cron"]._notify_progress(done=done, remaining=Partner._customer_status_remaining())
                return done
        self.env["ir.cron"]._notify_progress(done=done, remaining=0)
        return done

    def _customer_status_sweep_batch(self, limit, auto_commit):
        """One batch, committed on its own out of tests; it gives way to another worker's batch
        on the same contacts and runs again on a fresh snapshot."""
        for __ in range(3):
            try:
                count = len(self._customer_status_update(limit=limit))
                if auto_commit:
                    self.env.cr.commit()  # pylint: disable=invalid-commit
                return count
            except (pg_errors.SerializationFailure, pg_errors.LockNotAvailable):
                if not auto_commit:
                    raise
                self.env.cr.rollback()
        return 0

    @api.model
    def _customer_status_remaining(self):
        """Contacts whose stored status is not their status any more (the scheduler's progress)."""
        self._customer_status_flush()
        since, regular_count = self._customer_status_thresholds()
        self.env.cr.execute(SQL("""
            SELECT count(*) FROM res_partner partner JOIN (%s) status ON status.id = partner.id
             WHERE partner.customer_status IS DISTINCT FROM status.status
        """, customer_status_sql(since, regular_count)))
        return self.env.cr.fetchone()[0]
