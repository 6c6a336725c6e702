"""The customer status of contacts (``tools/customer_status.py`` defines it once): prospect, new,
regular or lapsed customer, the same for a company and all its contacts.

The status is computed by the sales process and readonly for users: stored, selected set-based
in SQL and written through the ORM, when an opportunity's transition changes it
(``crm_lead_customer_status.py``) and by the daily sweep (``_cron_update_customer_status``), which
catches the passing of time (a won deal leaving the last months: time is no ``@api.depends``) by
the date each status ends (``customer_status_until``), and a change of the settings (every
contact, in the background). The ORM computes it (``compute=``) when a contact is created or
joins another company; a client never writes it (``_check_customer_status_written``)."""

import logging

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from ..tools.customer_status import (
    CUSTOMER_STATUSES,
    REGULAR_COUNT_PARAM,
    REGULAR_MONTHS_PARAM,
    THRESHOLDS,
    customer_status_sql,
    parse_threshold,
)
from ..tools.sweep import (
    CONCURRENCY_ERRORS,
    SweepStep,
    check_scheduler,
    default_auto_commit,
    process_or_skip,
    run_sweep,
)

_logger = logging.getLogger(__name__)

# fields of the opportunities and stages the status reads (flushed before its SQL runs)
LEAD_FIELDS = ["active", "type", "stage_id", "partner_id", "date_closed", "create_date"]
# the partner's columns the process writes
STATUS_FIELDS = ["customer_status", "customer_status_until"]
CRON_XMLID = "sales_process_stages.ir_cron_res_partner_customer_status"
# the settings the stored statuses follow ("count,months"), set by the sweep
APPLIED_PARAM = "sales_process_stages.customer_status_settings_applied"


class ResPartner(models.Model):
    _inherit = "res.partner"

    customer_status = fields.Selection(
        CUSTOMER_STATUSES, compute="_compute_customer_status", store=True, readonly=True, copy=False,
        help="From the won opportunities of the contact's company (the company's own and all its contacts'): "
        "prospect, none won; new customer, won in the last months, fewer times than a regular customer; "
        "regular customer, won at least as many times as the CRM settings say in the last months; lapsed "
        "customer, won before, none in the last months. Computed by the sales process: updated when an "
        "opportunity is won, reopened, lost or deleted, and every day.")
    customer_status_until = fields.Datetime(
        compute="_compute_customer_status", store=True, readonly=True, copy=False,
        index="btree_not_null",
        help="When the customer status ends by itself unless another opportunity is won: a regular customer "
        "becomes new, a new one lapsed.")

    @api.depends("commercial_partner_id")
    def _compute_customer_status(self):
        """The status of the contact's commercial entity (the definition's SQL). The passing of time
        and the opportunities' transitions are no dependencies: the sweep and the transitions
        update the stored values (``_customer_status_update``)."""
        saved = self.filtered("id")
        statuses = {}
        if saved:
            self._customer_status_flush(status=False)
            self.env.cr.execute(customer_status_sql(*self._customer_status_settings(), contacts=saved.ids))
            statuses = {partner_id: (status, until) for partner_id, status, until in self.env.cr.fetchall()}
        for partner in self:
            if partner.id:
                partner.customer_status, partner.customer_status_until = statuses.get(partner.id, ("prospect", False))
            else:  # a contact being created in a form: its company's
                company = partner.commercial_partner_id._origin
                partner.customer_status = company.customer_status or "prospect"
                partner.customer_status_until = company.customer_status_until

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_customer_status_written(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._check_customer_status_written(vals)
        if not {"parent_id", "is_company"}.intersection(vals):
            return super().write(vals)
        # a contact joining or leaving a company takes its won opportunities along: both
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
        written = [name for name in STATUS_FIELDS if name in vals]
        if written and not self.env.su:
            labels = self.fields_get(written, ["string"])
            raise ValidationError(_(
                "%(fields)s: computed by the sales process, it cannot be written.",
                fields=", ".join(labels[name]["string"] for name in written)))

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    def _customer_status_settings(self):
        """(now, regular count, months): the number of won opportunities in the last months that
        makes a regular customer, and how many months (CRM settings). The settings refuse bad
        values; a value written around them (SQL) counts as unset: the default."""
        Param = self.env["ir.config_parameter"].sudo()
        count, months = (
            parse_threshold(key, Param.get_param(key, THRESHOLDS[key][0])) or THRESHOLDS[key][0]
            for key in (REGULAR_COUNT_PARAM, REGULAR_MONTHS_PARAM)
        )
        return self.env.cr.now(), count, months

    @api.model
    def _customer_status_flush(self, status=True):
        """What the definition's SQL reads (and, with ``status``, the stored statuses it compares
        with), written to the database first."""
        self.env["crm.lead"].flush_model(LEAD_FIELDS)
        self.env["crm.stage"].flush_model(["is_won"])
        self.flush_model(["commercial_partner_id", *STATUS_FIELDS] if status else ["commercial_partner_id"])

    @api.model
    def _customer_status_update(self, partner_ids=None, limit=None):
        """Store, in one statement, the status of the contacts whose status changed: the contacts
        of the commercial entities of ``partner_ids``, or every contact.

        :param partner_ids: contact ids (a list, or SQL selecting them): they, their companies and
            the companies' contacts are updated; None: every contact
        :param limit: at most this many contacts, the first ones no other transaction holds (the
            sweep's batches); None: all of them, waiting for the others
        :return: the contacts updated
        """
        if partner_ids is not None and not isinstance(partner_ids, SQL) and not partner_ids:
            return self.browse()
        self._customer_status_flush()
        changes = customer_status_sql(*self._customer_status_settings(), contacts=partner_ids, changed=True)
        if limit is not None:
            changes = SQL("%s ORDER BY contact.id LIMIT %s FOR UPDATE OF contact SKIP LOCKED", changes, limit)
        # the changes are selected set-based (and locked); they are written through the ORM, which
        # flushes them 1,000 rows a statement and lets what depends on them follow
        self.env.cr.execute(changes, log_exceptions=False)
        values = {partner_id: (status, until) for partner_id, status, until in self.env.cr.fetchall()}
        partners = self.sudo().browse(list(values))
        for partner in partners:
            status, until = values[partner.id]
            partner.write({"customer_status": status, "customer_status_until": until})
        partners.flush_recordset(STATUS_FIELDS)
        return partners.with_env(self.env)

    @api.model
    def _customer_status_update_later(self):
        """The settings changed: every contact's status, in the background (the sweep, now)."""
        cron = self.env.ref(CRON_XMLID, raise_if_not_found=False)
        if cron:
            cron.sudo()._trigger()

    # ------------------------------------------------------------
    # SCHEDULED SWEEP
    # ------------------------------------------------------------

    @api.model
    def _cron_update_customer_status(self, batch_size=10000, time_limit=60, auto_commit=None):
        """Catch the passing of time: the contacts whose status ends (``customer_status_until``:
        a won deal leaving the last months) get their new one, set-based, by batches of the
        ``batch_size`` contacts whose moment came first that no other transaction holds (``FOR
        UPDATE SKIP LOCKED``), each batch committed out of tests. Only those contacts are read and
        written, by the index of their dates. When the settings changed since the last run, every
        contact's status is computed again first (those that change are written, by batches).
        After ``time_limit`` seconds the run reports the work left (``ir.cron._notify_progress``)
        and the scheduler runs it again.

        :return: number of contacts updated
        """
        check_scheduler(self.env, _("The customer status sweep"))
        if auto_commit is None:
            auto_commit = default_auto_commit()
        if batch_size <= 0:
            return 0
        Partner = self.sudo()
        Param = self.env["ir.config_parameter"].sudo()
        __, count, months = Partner._customer_status_settings()
        settings = f"{count},{months}"
        skipped = set()  # contacts this run could not process: not selected again
        steps = []
        if Param.get_param(APPLIED_PARAM) != settings:
            # every contact first: the settings changed (applied once that step ran to its end)
            steps.append(SweepStep(
                lambda limit: Partner._customer_status_sweep_step(True, limit, skipped), batch_size,
                lambda: Partner._customer_status_remaining(True),
                finished=lambda: Param.set_param(APPLIED_PARAM, settings)))
        steps.append(SweepStep(lambda limit: Partner._customer_status_sweep_step(False, limit, skipped), batch_size,
                               Partner._customer_status_remaining))
        done, __ = run_sweep(self.env, steps, time_limit, auto_commit)
        return done

    def _customer_status_sweep_step(self, every_contact, limit, skipped):
        """One batch (run by ``tools/sweep.run_sweep``: committed on its own out of tests, given
        way to another transaction on the same contacts). A batch that fails is done again
        contact by contact (halving): a contact whose status cannot be computed (a won date out
        of range written around the checks) is logged and skipped, the others get theirs.

        :param every_contact: among every contact (the settings changed), else among those due
        :param skipped: ids of the contacts this run skipped (not selected again), updated
        :return: number of contacts updated (at least those selected, when some were skipped)"""
        if every_contact:
            contacts = None
        else:
            self.flush_model(["customer_status_until"])
            contacts = SQL("""
                SELECT id FROM res_partner
                 WHERE customer_status_until <= %s AND id != ALL(%s)
                 ORDER BY customer_status_until, id
                 LIMIT %s
                   FOR UPDATE SKIP LOCKED
            """, self.env.cr.now(), sorted(skipped), limit)
        if not (every_contact and skipped):
            try:
                # the batch in one statement (set-based), in a savepoint: it fails as a whole. The
                # update flushes what it reads and what it writes: no flush of everything around it
                with self.env.cr.savepoint(flush=False):
                    return len(self._customer_status_update(contacts, limit=limit if every_contact else None))
            except CONCURRENCY_ERRORS:
                raise
            except Exception:  # noqa: BLE001 - a contact that cannot be processed: found below, logged, skipped
                # what the failed statement may have left in the cache is gone with it
                self.env.invalidate_all(flush=False)
                _logger.info("Customer status sweep: a batch failed, its contacts are processed by halves")
        # the same contacts, selected (and locked) without computing their status, then by halves
        if every_contact:
            self._customer_status_flush()
            contacts = SQL("""
                SELECT id FROM res_partner
                 WHERE id IN (SELECT changes.id FROM (%s) changes) AND id != ALL(%s)
                 ORDER BY id
                 LIMIT %s
                   FOR UPDATE SKIP LOCKED
            """, customer_status_sql(*self._customer_status_settings(), changed=True), sorted(skipped), limit)
        self.env.cr.execute(contacts)
        partners = self.browse([row[0] for row in self.env.cr.fetchall()])
        updated = []

        def update(batch):
            updated.append(len(batch._customer_status_update(batch.ids)))

        skipped.update(process_or_skip(partners, update, "Customer status sweep").ids)
        # the contacts skipped count as done: the loop goes on while batches are full
        return max(sum(updated), len(partners))

    @api.model
    def _customer_status_remaining(self, every_contact=False):
        """Contacts whose status is to update (the scheduler's progress): whose status ends now or
        has ended, and, when the settings changed, every contact whose status is another."""
        self._customer_status_flush()
        if every_contact:
            query = SQL("SELECT count(*) FROM (%s) changes",
                        customer_status_sql(*self._customer_status_settings(), changed=True))
        else:
            query = SQL("SELECT count(*) FROM res_partner WHERE customer_status_until <= %s", self.env.cr.now())
        self.env.cr.execute(query)
        return self.env.cr.fetchone()[0]
