"""The SLA's scheduled sweep (``ir.cron`` "Sales Process: SLA sweep"): it catches the passing
of time on the leads' stays. Each run resumes the holds whose date came, turns running SLAs due
soon or overdue (``tools/sla_state.py``), escalates the overdue ones to the salesperson, then to
the team leader, once per stay.

Each step selects its batch set-based from the partial indexes of the SLA dates and locks it
(``FOR UPDATE SKIP LOCKED``), then writes it through the ORM, one ``write`` per distinct value:
an automation rule "when the SLA status becomes Overdue" fires from the sweep as from a user's
write. Batches are committed on their own and survive one bad record (``tools/sweep.py``)."""

from collections import defaultdict

from markupsafe import escape

from odoo import _, api, fields, models
from odoo.tools import SQL

from odoo.addons.base_automation.models.base_automation import WRITE_TRIGGERS

from ..tools.sla_state import (
    SLA_PRIORITY,
    SLA_SWEEP_DATE_FIELDS,
    SLA_THRESHOLDS,
    sla_next_change_sql,
    sla_state_changes_sql,
    sla_state_sql,
)
from ..tools.sweep import SweepStep, check_scheduler, default_auto_commit, process_or_skip, run_sweep


class CrmLead(models.Model):
    _inherit = "crm.lead"

    @api.model
    def _cron_sweep_sla(self, batch_size=10000, escalation_batch_size=200, time_limit=60, auto_commit=None):
        """Catch the passing of time: resume the holds that end, turn running SLAs due soon or
        overdue (``SLA_THRESHOLDS``), escalate the overdue ones once per stay.

        Set-based and batched: each step takes at most ``batch_size`` leads whose state must
        change from its queue (``FOR UPDATE SKIP LOCKED``, so that two workers share the work),
        writes them through the ORM grouped by value (so automation rules on the SLA status
        fire, tracking and ``write_date`` follow) and, out of tests, commits. After
        ``time_limit`` seconds it reports the work left with ``ir.cron._notify_progress``, and
        the scheduler runs it again at once; a second run resumes where the first stopped. An
        escalation is marked done in the transaction that takes it from the queue, committed with
        the activity or message it sends: it is never sent twice. A lead that cannot be written
        is logged and skipped, and not selected again by this run.

        :param batch_size: leads per batch of state changes (0 skips them)
        :param escalation_batch_size: leads per batch of hold ends and escalations (0 skips them)
        :param time_limit: seconds after which the run stops and reports the work left, below the
            workers' real time limit (``limit_time_real``, 120 s by default)
        :param auto_commit: commit each batch; default: out of tests
        :return: number of leads processed
        """
        check_scheduler(self.env, _("The SLA sweep"))
        if auto_commit is None:
            auto_commit = default_auto_commit()
        Lead = self.sudo().with_context(mail_notify_force_send=False)
        skipped = set()  # leads this run could not process: not selected again
        remaining = Lead._sla_sweep_remaining
        steps = [SweepStep(lambda limit: Lead._sla_sweep_resume_holds(limit, skipped), escalation_batch_size,
                           remaining)]
        # the most urgent state first: a lead past both dates turns overdue at once
        steps += [SweepStep(lambda limit, state=state: Lead._sla_sweep_state(state, limit, skipped), batch_size,
                            remaining)
                  for state, __ in SLA_THRESHOLDS]
        steps += [SweepStep(lambda limit: Lead._sla_sweep_escalate(limit, skipped), escalation_batch_size, remaining),
                  SweepStep(lambda limit: Lead._sla_sweep_notify_leaders(limit, skipped), escalation_batch_size,
                            remaining, finished=Lead._sla_sweep_wake_next)]
        done, __ = run_sweep(self.env, steps, time_limit, auto_commit)
        return done

    @api.model
    def _sla_sweep_wake_next(self):
        """Wake the sweep again at the next date it has work at, when that comes before its next
        regular run (``_sla_wake_sweep``): minutes SLAs are caught on time. The same conditions
        as its steps, each read from its partial index."""
        now = self.env.cr.now()
        self.env["crm.lead"].flush_model(list(SLA_SWEEP_DATE_FIELDS) + ["sla_state"])
        # escalations are due at the deadline (``sla_escalation_date``): the state change covers them
        self.env.cr.execute(SQL("""
            SELECT LEAST(
                (SELECT MIN(sla_resume_date) FROM crm_lead WHERE sla_resume_date > %(now)s),
                %(state_change)s,
                (SELECT MIN(sla_leader_date) FROM crm_lead WHERE sla_leader_date > %(now)s)
            )
        """, now=now, state_change=sla_next_change_sql(now)))
        next_date = self.env.cr.fetchone()[0]
        if next_date:
            self._sla_wake_sweep(next_date)

    def _sla_sweep_lock(self, where, order, limit, skipped, *columns):
        """Take from the queue at most ``limit`` leads matching ``where`` that no other
        transaction holds (``FOR UPDATE SKIP LOCKED``: two workers share the work), the oldest
        first, without the ``skipped`` ones. The rows are only selected and locked here: the
        step writes them through the ORM.

        :param where: SQL; :param order: column of the queue's date
        :param columns: SQL expressions read with each lead
        :return: [(lead id, *columns)]"""
        self.env["crm.lead"].flush_model()
        self.env.cr.execute(SQL("""
            SELECT %(columns)s FROM crm_lead
             WHERE %(where)s AND id != ALL(%(skipped)s)
             ORDER BY %(order)s
             LIMIT %(limit)s
               FOR UPDATE SKIP LOCKED
        """, columns=SQL(", ").join([SQL("id"), *columns]), where=where, skipped=sorted(skipped),
            order=SQL.identifier(order), limit=limit), log_exceptions=False)
        return self.env.cr.fetchall()

    def _sla_sweep_write(self, vals_by_lead, what, skipped):
        """Write the sweep's values through the ORM, grouped by value (one ``write`` per distinct
        value: automations on these fields fire, tracking and ``write_date`` follow). A lead whose
        write fails is logged and skipped (``tools/sweep.py``), added to ``skipped``.

        :param vals_by_lead: {lead id: vals}, vals hashable as a sorted tuple of items"""
        groups = defaultdict(list)
        for lead_id, vals in vals_by_lead.items():
            groups[tuple(sorted(vals.items()))].append(lead_id)
        for items, lead_ids in groups.items():
            vals = dict(items)
            leads = self.browse(lead_ids)
            if self._sla_sweep_write_untracked(vals):
                leads = leads.with_context(mail_notrack=True)
            skipped.update(process_or_skip(leads, lambda batch, vals=vals: batch.write(vals), what).ids)

    def _sla_sweep_write_untracked(self, vals):
        """Whether writing ``vals`` can skip Odoo's tracking: none of the fields is tracked (the
        SLA's status and dates are not; a hold's end is), and no automation rule reacts to a
        change of a lead (whose own writes, run inside this one, must be tracked as a user's).
        Tracking reads every tracked field of the batch before and after the write: most of the
        write's time when nothing tracked changes."""
        if self._track_get_fields().intersection(vals):
            return False
        return not self.env["base.automation"].sudo().search_count(
            [("model_name", "=", self._name), ("trigger", "in", WRITE_TRIGGERS)], limit=1)

    def _sla_sweep_state(self, state, limit, skipped=None):
        """Running SLAs turning ``state``: their state becomes the one ``SLA_THRESHOLDS`` defines
        (read in the statement that takes them from the queue), written through the ORM."""
        skipped = set() if skipped is None else skipped
        now = self.env.cr.now()
        rows = self._sla_sweep_lock(sla_state_changes_sql(now, target=state), dict(SLA_THRESHOLDS)[state], limit,
                                    skipped, sla_state_sql(now))
        self._sla_sweep_write(
            {lead_id: {"sla_state": new_state, "sla_priority": SLA_PRIORITY[new_state]} for lead_id, new_state in rows},
            "SLA sweep, state changes", skipped)
        return len(rows)

    def _sla_sweep_resume_holds(self, limit, skipped=None):
        """End the holds whose date came. A lead whose SLA cannot be computed is logged and
        skipped (``tools/sweep.py``): added to ``skipped`` (ids this run does not select again),
        it is tried again by the next run.

        :return: number of leads processed or skipped"""
        skipped = set() if skipped is None else skipped
        rows = self._sla_sweep_lock(SQL("sla_resume_date <= %s", self.env.cr.now()), "sla_resume_date", limit, skipped)
        self._sla_sweep_write({lead_id: {"sla_hold_until": False, "sla_hold_reason": False} for lead_id, in rows},
                              "SLA sweep, holds ending", skipped)
        return len(rows)

    def _sla_sweep_escalate(self, limit, skipped=None):
        """Schedule an activity for the salesperson (else the team leader) of leads that became
        overdue. The escalation is marked done (written through the ORM) in the transaction that
        schedules it: committed together, it is never sent twice."""
        skipped = set() if skipped is None else skipped
        now = self.env.cr.now()
        rows = self._sla_sweep_lock(SQL("sla_escalation_date <= %s AND sla_state = 'overdue'", now),
                                    "sla_escalation_date", limit, skipped)
        if not rows:
            return 0
        self._sla_sweep_write({lead_id: {"sla_escalation_date": False, "sla_escalated_date": now} for lead_id, in rows},
                              "SLA sweep, escalations", skipped)
        leads = self.browse([lead_id for lead_id, in rows if lead_id not in skipped])
        rules = self.env["crm.stage"]._get_process_rules()
        default_type = self.env.ref("sales_process_stages.mail_activity_type_sla_overdue", raise_if_not_found=False)
        model_id = self.env["ir.model"]._get_id(self._name)
        activity_vals = {}
        for lead in leads:
            user = lead.user_id or lead.team_id.user_id
            sla = rules.stage(lead.stage_id.id).sla
            activity_type_id = (sla and sla.activity_type_id) or default_type.id
            if not user or not activity_type_id:
                continue
            activity_vals[lead.id] = {
                "res_model_id": model_id, "res_id": lead.id, "activity_type_id": activity_type_id,
                "user_id": user.id, "date_deadline": fields.Date.context_today(lead.with_user(user)),
                "summary": _("Overdue in %(stage)s", stage=lead.stage_id.name),
                "note": escape(_("This lead was due in stage “%(stage)s” on %(deadline)s (UTC).",
                                 stage=lead.stage_id.name, deadline=lead.sla_deadline)),
            }
        # in batch, as Odoo's own schedulers: no assignment email per activity, the activity
        # (due today) shows at once in the salesperson's activities; an escalation that cannot be
        # scheduled is logged and skipped (marked done: never sent twice)
        Activity = self.env["mail.activity"].with_context(mail_activity_quick_update=True)
        process_or_skip(
            leads.browse(list(activity_vals)),
            lambda batch: Activity.create([activity_vals[lead_id] for lead_id in batch.ids]),
            "SLA sweep, escalations")
        return len(rows)

    def _sla_sweep_notify_leaders(self, limit, skipped=None):
        """Notify the team leader of leads still overdue after the stage's further delay (marked
        done as the escalations are)."""
        skipped = set() if skipped is None else skipped
        now = self.env.cr.now()
        rows = self._sla_sweep_lock(SQL("sla_leader_date <= %s AND sla_state = 'overdue'", now),
                                    "sla_leader_date", limit, skipped)
        done = {"sla_leader_date": False, "sla_leader_notified_date": now}
        self._sla_sweep_write(dict.fromkeys((lead_id for lead_id, in rows), done),
                              "SLA sweep, team leaders notified", skipped)
        leads = self.browse([lead_id for lead_id, in rows if lead_id not in skipped])

        def notify(batch):
            for lead in batch:
                leader = lead.team_id.user_id
                lead.message_post(
                    body=self.env._("%(leader)s, this lead is overdue in stage “%(stage)s” since %(deadline)s (UTC); "
                           "salesperson: %(user)s.", leader=leader.name, stage=lead.stage_id.name,
                           deadline=lead.sla_deadline, user=lead.user_id.name or self.env._("nobody")),
                    partner_ids=leader.partner_id.ids, message_type="comment", subtype_xmlid="mail.mt_note")

        process_or_skip(leads.filtered("team_id.user_id"), notify, "SLA sweep, team leaders notified")
        return len(rows)

    @api.model
    def _sla_sweep_remaining(self):
        """Leads the sweep has still to process (for the scheduler's progress), by the same
        conditions as its steps."""
        now = self.env.cr.now()
        self.env["crm.lead"].flush_model()
        self.env.cr.execute(SQL("""
            SELECT (SELECT count(*) FROM crm_lead WHERE sla_resume_date <= %(now)s)
                 + (SELECT count(*) FROM crm_lead WHERE %(changes)s)
                 + (SELECT count(*) FROM crm_lead WHERE sla_escalation_date <= %(now)s AND sla_state = 'overdue')
                 + (SELECT count(*) FROM crm_lead WHERE sla_leader_date <= %(now)s AND sla_state = 'overdue')
        """, now=now, changes=sla_state_changes_sql(now)))
        return self.env.cr.fetchone()[0]
