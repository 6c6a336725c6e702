"""The SLA of a lead's stay in a stage: a time budget counted in calendar or working time, a
traffic light (on track, due soon, overdue), holds, escalations. Set in the transition's apply
step (see ``crm_lead.py``) when a stay starts or ends; the scheduled sweep
(``crm_lead_sla_sweep.py``) catches the passing of time.

Durations count minutes, hours or days (``crm.stage``'s ``SLA_UNITS``). The sweep runs every
15 minutes; an SLA date falling before its next run (a "contact within 10 minutes" stage) wakes
it at that minute (``_sla_wake_sweep``), and each run wakes it for the next such date.

The traffic light is defined once (``tools/sla_state.py``): this file's compute and the
sweep's selection follow from it."""

import logging
from collections import defaultdict
from datetime import timedelta

from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models, tools
from odoo.exceptions import ValidationError
from odoo.osv import expression
from odoo.tools import split_every

from ..tools import bounds
from ..tools.sla_clock import SlaClock
from ..tools.sla_state import SLA_NONE_VALUES, SLA_PRIORITY, SLA_STATES, SLA_SWEEP_DATE_FIELDS, sla_state_at
from .crm_stage import sla_duration_hours

_logger = logging.getLogger(__name__)

# fields the SLA computation may write that the chatter tracks
SLA_TRACKED_FIELDS = {"sla_hold_until", "sla_hold_reason"}


class CrmLead(models.Model):
    _inherit = "crm.lead"

    # SLA: time budget of the stay in the current stage (configured on the stage)
    sla_state = fields.Selection(
        SLA_STATES, string="SLA Status", required=True, default="none", index=True, copy=False, readonly=True,
        help="Traffic light of the lead's time budget in its stage: on track, due soon, overdue. Won, lost "
        "and on hold leads, and leads in stages without SLA, have none.")
    sla_deadline = fields.Datetime(
        "SLA Deadline", copy=False, readonly=True,
        help="When the lead becomes overdue in its stage, time on hold and, where the stage says so, "
        "planned activities included.")
    sla_due_soon_date = fields.Datetime("SLA Due Soon From", copy=False, readonly=True)
    sla_priority = fields.Integer(
        "SLA Urgency", copy=False, readonly=True, default=0,
        help="0 no SLA, 1 on track, 2 due soon, 3 overdue: to sort by urgency.")
    sla_start_date = fields.Datetime(
        "SLA Clock Start", copy=False, readonly=True,
        help="When the current stay started: stage entry, creation or restore.")
    sla_paused_hours = fields.Float(
        "SLA Hours on Hold", copy=False, readonly=True,
        help="Time on hold during the current stay, counted as the SLA is, added to the time budget.")
    sla_escalation_date = fields.Datetime(
        "SLA Escalation Due", copy=False, readonly=True, index="btree_not_null",
        help="When the scheduled sweep schedules an activity for the salesperson; emptied once done.")
    sla_leader_date = fields.Datetime(
        "SLA Leader Notification Due", copy=False, readonly=True, index="btree_not_null",
        help="When the scheduled sweep notifies the team leader; emptied once done.")
    sla_escalated_date = fields.Datetime("SLA Escalated On", copy=False, readonly=True)
    sla_leader_notified_date = fields.Datetime("Team Leader Notified On", copy=False, readonly=True)
    sla_remaining = fields.Char(
        "SLA Time Left", compute="_compute_sla_remaining",
        help="Time until the SLA deadline (or since it, when overdue), in calendar time: minutes under an "
        "hour, hours under two days, then days.")
    days_in_stage = fields.Integer(
        "Days in Stage", compute="_compute_days_in_stage",
        help="Days since the lead entered its current stage.")
    days_in_process = fields.Integer(
        "Days in Process", compute="_compute_days_in_process",
        help="Days from the lead's creation to today, or to the day it was won or lost.")
    # SLA: on hold
    sla_hold_until = fields.Date(
        "On Hold Until", copy=False, tracking=True,
        help="The SLA clock stops until this date, and restarts by itself on it.")
    sla_hold_reason = fields.Char("Hold Reason", copy=False, tracking=True)
    sla_hold_start = fields.Datetime("On Hold Since", copy=False, readonly=True)
    sla_resume_date = fields.Datetime("SLA Resumes At", copy=False, readonly=True, index="btree_not_null")
    # Stage history: one row per stay in a stage

    @api.depends("date_last_stage_update")
    def _compute_days_in_stage(self):
        # the clock, not the transaction's timestamp (cr.now() costs a query in each request reading cards)
        now = fields.Datetime.now()
        for lead in self:
            entered = lead.date_last_stage_update
            lead.days_in_stage = max((now - entered).days, 0) if entered else 0

    @api.depends("sla_state", "sla_deadline", "sla_start_date", "date_last_stage_update")
    def _compute_sla_remaining(self):
        now = fields.Datetime.now()
        for lead in self:
            if lead.sla_state == "none" or not lead.sla_deadline:
                lead.sla_remaining = False
                continue
            # what the colour means: red overdue (since when), orange the time left, green on track
            # (and how long in the stage)
            seconds = (lead.sla_deadline - now).total_seconds()
            if seconds <= 0 or lead.sla_state == "overdue":
                lead.sla_remaining = _("%(time)s overdue", time=self._sla_format_time(max(-seconds, 0)))
            elif lead.sla_state == "due_soon" or not (lead.sla_start_date or lead.date_last_stage_update):
                lead.sla_remaining = _("%(time)s left", time=self._sla_format_time(seconds))
            else:
                entered = lead.sla_start_date or lead.date_last_stage_update
                lead.sla_remaining = _("on track · %(time)s in stage", time=self._sla_format_time(
                    (now - entered).total_seconds()))

    @api.model
    def _sla_format_time(self, seconds):
        """A duration as the SLA badge shows it: minutes under an hour, hours under two days, then
        days; whole units, rounded down (but never "0 min")."""
        minutes = int(seconds // 60)
        if minutes < 60:
            return _("%(minutes)s min", minutes=max(minutes, 1))
        if minutes < 48 * 60:
            return _("%(hours)s h", hours=minutes // 60)
        return _("%(days)s d", days=minutes // (24 * 60))

    @api.depends("create_date", "date_closed")
    def _compute_days_in_process(self):
        now = fields.Datetime.now()
        for lead in self:
            start = lead.create_date or now
            lead.days_in_process = max(((lead.date_closed or now) - start).days, 0)

    # ------------------------------------------------------------
    # TRANSITION: check, apply
    # ------------------------------------------------------------

    @api.model
    def _get_process_computed_fields(self):
        return super()._get_process_computed_fields() | {
            "sla_state", "sla_deadline", "sla_due_soon_date", "sla_priority", "sla_start_date", "sla_paused_hours",
            "sla_escalation_date", "sla_leader_date", "sla_escalated_date", "sla_leader_notified_date",
            "sla_hold_start", "sla_resume_date"}

    @api.model
    def _stage_transition_fields(self):
        return super()._stage_transition_fields() | {"sla_hold_until"}

    @api.model
    def _stage_transition_snapshot_fields(self):
        return [*super()._stage_transition_snapshot_fields(), "user_id", "sla_state", "sla_deadline",
                "sla_hold_until", "sla_hold_start", "sla_hold_reason"]

    def _get_stage_transition_problems(self, transitions):
        """A hold needs a reason, on an open lead: in the check step's one message."""
        problems = super()._get_stage_transition_problems(transitions)
        for transition in transitions:
            if transition.vals.get("sla_hold_until"):
                if hold_problems := transition.lead._get_sla_hold_problems(transition.vals):
                    problems[transition.lead].extend(hold_problems)
        return problems

    def _prepare_stage_transition_vals(self, transitions, vals):
        vals = super()._prepare_stage_transition_vals(transitions, vals)
        rules = self.env["crm.stage"]._get_process_rules()
        if "sla_hold_until" in vals and not vals["sla_hold_until"] and "sla_hold_reason" not in vals:
            # the hold ends: the reason goes with it (kept in the chatter and the history)
            vals = {**vals, "sla_hold_reason": False}
        elif any(t.old["sla_hold_until"] and not self._sla_is_open(t.is_active, t.new_stage_id, rules)
                 for t in transitions):
            # won or lost: no hold any more
            vals = {**vals, "sla_hold_until": False, "sla_hold_reason": False}
        return vals

    @api.model
    def _sla_is_open(self, active, stage_id, rules):
        """Whether a lead (``active``) in stage ``stage_id`` has an open stay: not lost, in a stage,
        not won (``rules``: the process rules, ``crm.stage._get_process_rules``)."""
        return bool(active and stage_id and not rules.stage(stage_id).is_won)

    def _apply_transition_sla(self, transitions):
        """A stay that starts restarts the clock; one that ends stops it; a hold, a new pipeline
        (another calendar) count the budget again. Leads without SLA nor hold, before and after
        (pipelines nobody configured), cost nothing."""
        rules = self.env["crm.stage"]._get_process_rules()
        reset, recompute, closed = [], [], []
        for transition in transitions:
            old = transition.old
            if not (old.get("sla_state", "none") != "none" or old.get("sla_hold_until")
                    or transition.lead.sla_hold_until
                    or rules.stage(transition.new_stage_id).sla):
                continue
            if transition.enters_stay:
                reset.append(transition.lead.id)
            elif transition.leaves_stay:
                closed.append(transition.lead.id)  # its stay keeps the deadline it had
            elif transition.team_changed or old.get("sla_hold_until") != transition.lead.sla_hold_until:
                recompute.append(transition.lead.id)
        if reset:
            self.browse(reset)._sla_recompute(reset=True)
        if closed:
            self.browse(closed)._sla_recompute(sync=False)
        if recompute:
            self.browse(recompute)._sla_recompute()


    # ------------------------------------------------------------
    # SLA: computing the time budget of the stays
    # ------------------------------------------------------------

    def _auto_init(self):
        res = super()._auto_init()
        # the sweep looks for running SLAs whose time has come: partial indexes hold just those
        tools.create_index(self._cr, "crm_lead_sla_deadline_running_index", self._table, ["sla_deadline"],
                           where="sla_state IN ('on_track', 'due_soon')")
        tools.create_index(self._cr, "crm_lead_sla_due_soon_running_index", self._table, ["sla_due_soon_date"],
                           where="sla_state = 'on_track'")
        return res

    def _sla_get_calendar(self):
        """Working calendar of the lead's SLA: its team's, else its company's (else the current one's)."""
        self.ensure_one()
        return (self.team_id.resource_calendar_id or self.company_id.resource_calendar_id
                or self.env.company.resource_calendar_id)

    @api.model
    def _sla_hours(self, duration, clock):
        """Hours of ``duration`` = (value, unit) on ``clock``: minutes and hours are what they say
        (counted on the clock: "within 10 working minutes"); a day is 24 hours in calendar time and
        the calendar's average hours per day in working time ("within one working day" is the
        calendar's day of work, from whenever the lead arrives)."""
        value, unit = duration
        hours_per_day = (clock.calendar.hours_per_day or 8.0) if clock.working else 24.0
        return sla_duration_hours(value, unit, hours_per_day)

    def _sla_get_activity_dates(self, rules):
        """{lead id: latest date of its planned activities} for the leads in stages whose clock
        waits for planned activities (one query for the batch; ``rules``: the process rules,
        ``crm.stage._get_process_rules``)."""
        lead_ids = [
            lead.id for lead in self
            if (sla := rules.stage(lead.stage_id.id).sla) and sla.activity_aware
        ]
        if not lead_ids:
            return {}
        return dict(self.env["mail.activity"].sudo()._read_group(
            self.browse(lead_ids)._get_planned_next_activity_domain(), ["res_id"], ["date_deadline:max"]))

    def _sla_recompute(self, reset=False, sync=True):
        """Compute and store the SLA of the leads, in batch: deadline, due soon date, state,
        escalation queue, hold bookkeeping. Calendars are read once per batch; the leads' open
        stays follow their deadline (``crm.lead.stage.history``).

        :param reset: a new stay starts now (stage entry, creation, restore): the clock starts now
            and escalations may happen again
        :param sync: copy the new deadlines on the leads' open stays (unless a new stay starts)
        """
        if not self:
            return
        now = self.env.cr.now()
        leads = self.sudo()
        rules = self.env["crm.stage"]._get_process_rules()
        activity_dates = leads._sla_get_activity_dates(rules)
        clocks = {}
        lead_ids_by_vals = defaultdict(list)
        next_date = None  # the earliest SLA date to come: the sweep must not miss it
        for lead in leads:
            vals = lead._sla_compute_values(rules, clocks, activity_dates, now, reset)
            lead_ids_by_vals[tuple(sorted(vals.items()))].append(lead.id)
            for fname in SLA_SWEEP_DATE_FIELDS:
                date = vals.get(fname)
                if date and date > now and (next_date is None or date < next_date):
                    next_date = date
        # one write per set of values, one UPDATE per set of fields when flushed; the SLA fields are not
        # tracked: no tracking to prepare (mail.thread would read every tracked field of the leads each time)
        untracked = leads.with_context(tracking_disable=True)
        for vals, lead_ids in lead_ids_by_vals.items():
            vals = dict(vals)
            (leads if SLA_TRACKED_FIELDS.intersection(vals) else untracked).browse(lead_ids).write(vals)
        if sync and not reset:
            self.env["crm.lead.stage.history"]._sync_open_stays(leads)
        if next_date:
            self._sla_wake_sweep(next_date)

    @api.model
    def _sla_wake_sweep(self, at):
        """Run the sweep at ``at`` (an SLA date to come) when it falls before the sweep's next
        regular run: an SLA counted in minutes turns due soon or overdue between two runs. One
        trigger (``ir.cron._trigger``, rounded up to the minute, its precision) per batch: the
        sweep that runs then wakes itself again for the next date (``_sla_sweep_wake_next``), so
        that every date is caught within a minute, later ones by the regular runs."""
        cron = self.env.ref("sales_process_stages.ir_cron_crm_lead_sla_sweep", raise_if_not_found=False)
        cron = cron and cron.sudo()
        if not cron or not cron.active:
            return
        now = self.env.cr.now()
        # the regular run comes within one interval: it wakes the sweep for the dates after it
        if at > now + relativedelta(**{cron.interval_type: cron.interval_number}):
            return
        if at.second or at.microsecond:
            at = at.replace(second=0, microsecond=0) + timedelta(minutes=1)
        if not self.env["ir.cron.trigger"].sudo().search_count(
                [("cron_id", "=", cron.id), ("call_at", "=", at)], limit=1):
            cron._trigger(at)

    @api.model
    def _sla_recompute_search(self, domain, batch_size=1000):
        """Recompute the SLA of the open leads matching ``domain`` (a stage or a team whose
        settings changed), by batches of ``batch_size`` leads: constant memory."""
        lead_ids = self.sudo().search(expression.AND([domain, [("active", "=", True)]])).ids
        for batch_ids in split_every(batch_size, lead_ids):
            leads = self.sudo().browse(batch_ids)
            leads._sla_recompute()
            self.env.invalidate_all()  # flushes first

    def _sla_compute_values(self, rules, clocks, activity_dates, now, reset):
        """SLA values of the lead at ``now`` (see ``_sla_recompute``; ``rules``: the process rules,
        ``crm.stage._get_process_rules``)."""
        self.ensure_one()
        rule = rules.stage(self.stage_id.id)
        sla = rule.sla if not rule.is_won else None
        is_open = self.active and self.stage_id and not rule.is_won
        vals = {}
        if not is_open:
            # won, lost or without a stage: no running SLA, no hold
            vals.update(SLA_NONE_VALUES, sla_hold_start=False, sla_resume_date=False)
            if self.sla_hold_until or self.sla_hold_reason:
                vals.update(sla_hold_until=False, sla_hold_reason=False)
            return vals
        on_hold = bool(self.sla_hold_until)
        if reset:
            start, paused, hold_start = now, 0.0, now if on_hold else False
            # no clock start in a stage without SLA: moves between such stages then cost nothing
            vals.update(sla_start_date=now if sla or on_hold else False, sla_escalated_date=False,
                        sla_leader_notified_date=False)
            escalated = notified = False
        else:
            # a stay in a stage without SLA has no clock start: its stage update says when it began
            start = self.sla_start_date or self.date_last_stage_update or now
            paused, hold_start = self.sla_paused_hours, self.sla_hold_start
            escalated, notified = self.sla_escalated_date, self.sla_leader_notified_date
            if on_hold and not hold_start:
                hold_start = now  # the hold begins
        # the calendar only matters with a time budget or a hold (none read for plain pipelines)
        calendar = self._sla_get_calendar() if sla or on_hold else None
        clock = None
        if sla:
            key = (calendar.id, sla.working)
            clock = clocks.get(key) or clocks.setdefault(key, SlaClock(calendar, sla.working))
        if not on_hold and hold_start:
            # the hold ends: the time on hold is added to the budget
            if clock:
                paused += max(clock.hours_between(hold_start, now), 0.0)
            hold_start = False
        vals.update(
            sla_paused_hours=paused, sla_hold_start=hold_start,
            sla_resume_date=clock_day_start(clock or SlaClock(calendar), self.sla_hold_until) if on_hold else False,
        )
        if not sla:
            vals.update(SLA_NONE_VALUES)
            return vals
        budget = self._sla_hours(sla.duration, clock)
        stage_deadline = clock.plan(start, budget + paused)
        if stage_deadline is None:
            _logger.warning("Working calendar %s has no working time: SLA of lead %s counted in calendar time",
                            calendar.display_name, self.id)
            clock = clocks.setdefault((calendar.id, False), SlaClock(calendar, False))
            stage_deadline = clock.plan(start, budget + paused)
        deadline = stage_deadline
        activity_date = activity_dates.get(self.id)
        if activity_date:
            # a date out of the bounds written around them (SQL, an older version) counts at the bound
            activity_date = bounds.clamp_date(activity_date, *bounds.activity_deadline_range(now.date()))
            # a planned next step: not overdue before the end of its day
            deadline = max(deadline, clock.day_end(activity_date))
        if sla.due_soon_percent is not None:
            margin = budget * (100.0 - sla.due_soon_percent) / 100.0
        else:
            margin = self._sla_hours(sla.due_soon_before, clock)
        due_soon = (clock.plan(deadline, -margin) if margin > 0 else None) or deadline
        state = "none" if on_hold else sla_state_at({"sla_deadline": deadline, "sla_due_soon_date": due_soon}, now)
        vals.update(
            sla_state=state, sla_priority=SLA_PRIORITY[state], sla_deadline=deadline, sla_due_soon_date=due_soon,
            sla_escalation_date=deadline if sla.escalate and not escalated and not on_hold else False,
            sla_leader_date=clock.plan(deadline, self._sla_hours(sla.leader_delay, clock)) or deadline
            if sla.notify_leader and not notified and not on_hold else False,
        )
        return vals

    def _get_sla_hold_problems(self, vals):
        """What refuses putting the lead on hold: no reason, or a won or lost lead. A date that is
        no date, not to come or past the bounds is refused at once (``ValidationError``), as every
        bound is.

        :return: [problem, ...] in the user's language"""
        self.ensure_one()
        try:
            hold_until = fields.Date.to_date(vals["sla_hold_until"])
        except (TypeError, ValueError):
            hold_until = None
        if not hold_until:
            raise ValidationError(_("“On Hold Until” is a date (YYYY-MM-DD), not %(value)s.",
                                    value=repr(vals["sla_hold_until"])[:50]))
        today = fields.Date.context_today(self)
        if hold_until <= today:
            raise ValidationError(_("A lead is put on hold until a date to come, not %(date)s.", date=hold_until))
        if hold_until > today + timedelta(days=bounds.HOLD_MAX_DAYS):
            raise ValidationError(_(
                "A lead is put on hold for at most %(days)s days (until %(latest)s), not until %(date)s.",
                days=bounds.HOLD_MAX_DAYS, latest=today + timedelta(days=bounds.HOLD_MAX_DAYS), date=hold_until))
        rules = self.env["crm.stage"]._get_process_rules()
        problems = []
        reason = vals["sla_hold_reason"] if "sla_hold_reason" in vals else self.sla_hold_reason
        if not (reason or "").strip():
            problems.append(_("Say why “%(lead)s” is put on hold.", lead=self.display_name))
        if not self.active or rules.stage(self.stage_id.id).is_won:
            problems.append(_("“%(lead)s” is won or lost: it cannot be put on hold.", lead=self.display_name))
        return problems

    @api.model
    def _sla_result(self, old, now):
        """Whether the stay that ends met its SLA: "missed" when its clock (stopped by a hold)
        passed its deadline. :param old: the lead's SLA values (``StageTransition.old``)"""
        if not old.get("sla_deadline"):
            return False
        on_hold = old.get("sla_hold_until") and old.get("sla_hold_start")
        clock_stop = old["sla_hold_start"] if on_hold else now
        return "missed" if clock_stop >= old["sla_deadline"] else "met"

    @api.model
    def _sla_hold_hours(self, old, now):
        """Hours on hold of the stay that ends, not yet counted in its history row."""
        if old.get("sla_hold_until") and old.get("sla_hold_start"):
            return max((now - old["sla_hold_start"]).total_seconds() / 3600, 0.0)
        return 0.0

    def _on_activities_changed(self):
        """Planned activities of the leads changed: leads in stages whose clock waits for planned
        activities get their deadline again."""
        super()._on_activities_changed()
        rules = self.env["crm.stage"]._get_process_rules()
        if not any(rule.sla and rule.sla.activity_aware for rule in rules.stages.values()):
            return
        leads = self.sudo().exists().filtered(
            lambda lead: lead.sla_state != "none"
            and (sla := rules.stage(lead.stage_id.id).sla) and sla.activity_aware)
        leads._sla_recompute()

    # ------------------------------------------------------------
    # SLA: actions
    # ------------------------------------------------------------

    def action_sla_hold(self):
        """Open the dialog putting the lead on hold: the dialog writes the date and the reason."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Put on Hold"),
            "res_model": "crm.lead",
            "res_id": self.id,
            "view_mode": "form",
            "views": [(self.env.ref("sales_process_stages.crm_lead_view_form_sla_hold").id, "form")],
            "target": "new",
        }

    def action_sla_hold_confirm(self):
        """Button of the hold dialog: the date and reason are saved (and checked) by then."""
        return {"type": "ir.actions.act_window_close"}

    def action_sla_resume(self):
        """End the hold now: the clock restarts."""
        self.filtered("sla_hold_until").write({"sla_hold_until": False, "sla_hold_reason": False})
        return True


def clock_day_start(clock, day):
    """UTC instant when ``day`` starts on ``clock``'s time zone (False without a day)."""
    return clock.day_start(day) if day else False
