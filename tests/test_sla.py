"""SLA of stages: deadlines in calendar and working time, states, escalations, holds, the sweep.

Fixtures (on crm's TestCrmCommon): an office calendar in New York (Mon-Fri 8-12, 13-17, 8 hours
a day) for sales team 1, whose stage "New" gives one working day (yellow at 75 %, an activity
for the salesperson when overdue, the team leader notified 4 working hours later) and whose
stage "Proposition" gives 48 calendar hours (yellow 12 hours before) and waits for planned
activities. Time is frozen with ``mock_datetime_and_now`` (``cr.now()`` included).
"""

import logging
from datetime import date, datetime, timedelta

from lxml import etree

from odoo import api
from odoo.exceptions import UserError, ValidationError
from odoo.tests.common import tagged, users, warmup
from odoo.tools import mute_logger

from odoo.addons.crm.tests.common import TestCrmCommon
from odoo.addons.sales_process_stages.tools.sweep import run_batch

_logger = logging.getLogger(__name__)

# 2024-06-07 is a Friday; New York is UTC-4 in June
FRI_16_NY = datetime(2024, 6, 7, 20, 0)  # Friday 16:00 in New York
MON_14_NY = datetime(2024, 6, 10, 18, 0)  # Monday 14:00 in New York
MON_15_NY = datetime(2024, 6, 10, 19, 0)  # Monday 15:00 in New York
MON_16_NY = datetime(2024, 6, 10, 20, 0)  # Monday 16:00 in New York
MINUTE = timedelta(minutes=1)


class SlaCommon(TestCrmCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.calendar_ny = cls.env["resource.calendar"].create({
            "name": "New York Office",
            "tz": "America/New_York",
            "attendance_ids": [
                (0, 0, {"name": f"{day} {period}", "dayofweek": str(day), "hour_from": start, "hour_to": stop,
                        "day_period": period})
                for day in range(5)
                for start, stop, period in ((8, 12, "morning"), (13, 17, "afternoon"))
            ],
        })
        cls.sales_team_1.resource_calendar_id = cls.calendar_ny
        cls.stage_new = cls.stage_team1_1
        cls.stage_new.write({
            "sla_enabled": True, "sla_duration": 1, "sla_duration_unit": "days", "sla_time_basis": "working",
            "sla_due_soon_type": "percent", "sla_due_soon_percent": 75,
            "sla_escalate": True, "sla_notify_leader": True, "sla_leader_delay": 4, "sla_leader_delay_unit": "hours",
        })
        cls.stage_proposition = cls.stage_team1_2
        cls.stage_proposition.write({
            "sla_enabled": True, "sla_duration": 48, "sla_duration_unit": "hours", "sla_time_basis": "calendar",
            "sla_due_soon_type": "before", "sla_due_soon_before": 12, "sla_due_soon_before_unit": "hours",
            "sla_activity_aware": True,
        })
        cls.activity_type_call = cls.env.ref("mail.mail_activity_data_call")
        cls.activity_type_sla = cls.env.ref("sales_process_stages.mail_activity_type_sla_overdue")

    def _create_lead(self, **values):
        return self.env["crm.lead"].create({
            "name": "SLA lead",
            "type": "opportunity",
            "team_id": self.sales_team_1.id,
            "stage_id": self.stage_new.id,
            "user_id": self.user_sales_salesman.id,
            **values,
        })

    def _sweep(self, now, **kwargs):
        with self.mock_datetime_and_now(now):
            return self.env["crm.lead"]._cron_sweep_sla(**kwargs)

    def _sla_activities(self, leads):
        return self.env["mail.activity"].search([
            ("res_model", "=", "crm.lead"), ("res_id", "in", leads.ids),
            ("activity_type_id", "=", self.activity_type_sla.id),
        ])


@tagged("sales_process_stages", "sla")
class TestSlaDeadlines(SlaCommon):
    def test_working_time_across_weekend_and_time_zone(self):
        """One working day from Friday 16:00 in New York: 1 hour on Friday, 7 on Monday (lunch
        excluded), due Monday 16:00 New York (20:00 UTC); yellow at 75 %, 2 working hours before
        (Monday 14:00)."""
        with self.mock_datetime_and_now(FRI_16_NY):
            lead = self._create_lead()
        self.assertEqual(lead.sla_deadline, MON_16_NY)
        self.assertEqual(lead.sla_due_soon_date, MON_14_NY)
        self.assertEqual(lead.sla_state, "on_track")
        self.assertEqual(lead.sla_start_date, FRI_16_NY)

        # the weekend counts for nothing; New York's clock, not UTC's
        self._sweep(MON_14_NY - MINUTE)
        self.assertEqual(lead.sla_state, "on_track")
        self._sweep(MON_14_NY)
        self.assertEqual(lead.sla_state, "due_soon")
        self._sweep(MON_16_NY - MINUTE)
        self.assertEqual(lead.sla_state, "due_soon")
        self._sweep(MON_16_NY)
        self.assertEqual(lead.sla_state, "overdue")
        self.assertEqual(lead.sla_priority, 3)

    def test_working_time_leaves_and_lunch(self):
        """A public holiday on Monday and the lunch break are not working time."""
        self.env["resource.calendar.leaves"].create({
            "name": "Holiday", "calendar_id": self.calendar_ny.id,
            "date_from": datetime(2024, 6, 10, 4, 0), "date_to": datetime(2024, 6, 11, 4, 0),  # Monday, NY
        })
        with self.mock_datetime_and_now(FRI_16_NY):
            lead = self._create_lead()
        # Friday 16-17, then Tuesday 8-12 and 13-16 (the lunch hour 12-13 skipped): Tuesday 16:00 NY
        self.assertEqual(lead.sla_deadline, datetime(2024, 6, 11, 20, 0))

    def test_calendar_time(self):
        """48 calendar hours: the weekend counts; yellow 12 hours before the deadline."""
        with self.mock_datetime_and_now(FRI_16_NY):
            lead = self._create_lead(stage_id=self.stage_proposition.id)
        self.assertEqual(lead.sla_deadline, FRI_16_NY + timedelta(hours=48))
        self.assertEqual(lead.sla_due_soon_date, FRI_16_NY + timedelta(hours=36))

        self._sweep(FRI_16_NY + timedelta(hours=36) - MINUTE)
        self.assertEqual(lead.sla_state, "on_track")
        # on track straight to overdue when the sweep comes late
        self._sweep(FRI_16_NY + timedelta(hours=50))
        self.assertEqual(lead.sla_state, "overdue")

    def test_calendar_time_days_and_company_calendar(self):
        """Days in calendar time are 24 hours; without a team calendar, the company's counts."""
        self.sales_team_1.resource_calendar_id = False
        self.stage_proposition.write({"sla_duration": 2, "sla_duration_unit": "days"})
        with self.mock_datetime_and_now(FRI_16_NY):
            lead = self._create_lead(stage_id=self.stage_proposition.id)
        self.assertEqual(lead._sla_get_calendar(), self.env.company.resource_calendar_id)
        self.assertEqual(lead.sla_deadline, FRI_16_NY + timedelta(days=2))

    def test_stage_change_recomputes_at_once(self):
        """A move gives the lead the budget of its new stage at once; a stage without SLA has none."""
        with self.mock_datetime_and_now(FRI_16_NY):
            lead = self._create_lead()
        later = MON_16_NY + timedelta(hours=1)
        self._sweep(later)
        self.assertEqual(lead.sla_state, "overdue")
        with self.mock_datetime_and_now(later):
            lead.write({"stage_id": self.stage_proposition.id})
        self.assertEqual(lead.sla_state, "on_track")
        self.assertEqual(lead.sla_deadline, later + timedelta(hours=48))
        with self.mock_datetime_and_now(later):
            lead.write({"stage_id": self.stage_gen_1.id})
        self.assertEqual(lead.sla_state, "none")
        self.assertFalse(lead.sla_deadline)

    def test_stage_configuration_change_recomputes_open_leads(self):
        with self.mock_datetime_and_now(FRI_16_NY):
            lead = self._create_lead(stage_id=self.stage_proposition.id)
            self.stage_proposition.sla_duration = 24
        self.assertEqual(lead.sla_deadline, FRI_16_NY + timedelta(hours=24))
        with self.mock_datetime_and_now(FRI_16_NY + timedelta(hours=30)):
            self.stage_proposition.sla_duration = 13
        self.assertEqual(lead.sla_state, "overdue")
        self.stage_proposition.sla_enabled = False
        self.assertEqual(lead.sla_state, "none")

    def test_won_and_lost_have_no_sla(self):
        with self.mock_datetime_and_now(FRI_16_NY):
            won, lost = self._create_lead(), self._create_lead()
            won.action_set_won()
            lost.action_set_lost()
        for lead in won + lost:
            self.assertEqual(lead.sla_state, "none")
            self.assertFalse(lead.sla_deadline)
            self.assertFalse(lead.sla_escalation_date)
        # frozen process duration: closed on Friday, still 0 days on Monday
        with self.mock_datetime_and_now(MON_16_NY):
            (won + lost).invalidate_recordset(["days_in_process"])
            self.assertEqual(won.days_in_process, 0)
            self.assertEqual(lost.days_in_process, 0)
        # restored: a new stay, its clock starts at the restore
        with self.mock_datetime_and_now(MON_15_NY):
            lost.action_unarchive()
        self.assertEqual(lost.sla_state, "on_track")
        self.assertEqual(lost.sla_start_date, MON_15_NY)
        # Monday 15-17, Tuesday 8-12 and 13-15: Tuesday 15:00 NY
        self.assertEqual(lost.sla_deadline, datetime(2024, 6, 11, 19, 0))

    def test_days_in_stage_and_process(self):
        with self.mock_datetime_and_now(FRI_16_NY):
            lead = self._create_lead()
        with self.mock_datetime_and_now(FRI_16_NY + timedelta(days=3, hours=1)):
            lead.write({"stage_id": self.stage_proposition.id})
        with self.mock_datetime_and_now(FRI_16_NY + timedelta(days=5, hours=2)):
            lead.invalidate_recordset(["days_in_stage", "days_in_process"])
            self.assertEqual(lead.days_in_stage, 2)
            self.assertEqual(lead.days_in_process, 5)

    def test_lead_without_stage(self):
        """No stage, no SLA and no stay; a stage gives both; removing it ends them."""
        with self.mock_datetime_and_now(FRI_16_NY):
            lead = self._create_lead(stage_id=False)
        self.assertFalse(lead.stage_id)
        self.assertEqual(lead.sla_state, "none")
        self.assertFalse(lead.stage_history_ids)
        with self.mock_datetime_and_now(FRI_16_NY):
            lead.write({"stage_id": self.stage_new.id})
        self.assertEqual(lead.sla_state, "on_track")
        self.assertEqual(len(lead.stage_history_ids), 1)
        with self.mock_datetime_and_now(MON_16_NY):
            lead.write({"stage_id": False})
        self.assertEqual(lead.sla_state, "none")
        self.assertEqual(lead.stage_history_ids.date_out, MON_16_NY)
        self.assertEqual(lead.stage_history_ids.sla_result, "missed")
        self._sweep(MON_16_NY + timedelta(days=2))
        self.assertEqual(lead.sla_state, "none")


@tagged("sales_process_stages", "sla")
class TestSlaActivitiesAndHolds(SlaCommon):
    def test_planned_activity_extends_deadline(self):
        """In a stage whose clock waits for planned activities, a lead is not overdue before the
        end of its latest planned activity's day (in the calendar's time zone)."""
        with self.mock_datetime_and_now(FRI_16_NY):
            lead = self._create_lead(stage_id=self.stage_proposition.id)
            activity = lead.activity_schedule(
                activity_type_id=self.activity_type_call.id, date_deadline=date(2024, 6, 12),
                user_id=self.user_sales_salesman.id)
        end_of_day = datetime(2024, 6, 13, 4, 0)  # Wednesday 24:00 in New York
        self.assertEqual(lead.sla_deadline, end_of_day)
        self.assertEqual(lead.sla_due_soon_date, end_of_day - timedelta(hours=12))
        self._sweep(FRI_16_NY + timedelta(hours=49))  # past the 48 hours
        self.assertEqual(lead.sla_state, "on_track")

        # rescheduled: follows
        with self.mock_datetime_and_now(FRI_16_NY + timedelta(hours=49)):
            activity.date_deadline = date(2024, 6, 11)
        self.assertEqual(lead.sla_deadline, datetime(2024, 6, 12, 4, 0))
        # done: back to the stage's budget, overdue since Sunday
        with self.mock_datetime_and_now(FRI_16_NY + timedelta(hours=49)):
            activity.action_feedback(feedback="Called")
        self.assertEqual(lead.sla_deadline, FRI_16_NY + timedelta(hours=48))
        self.assertEqual(lead.sla_state, "overdue")

    def test_planned_activity_ignored_elsewhere(self):
        """Stages that do not wait for activities, and SLA escalations, do not move deadlines."""
        with self.mock_datetime_and_now(FRI_16_NY):
            lead = self._create_lead()
            lead.activity_schedule(activity_type_id=self.activity_type_call.id, date_deadline=date(2024, 6, 20),
                                   user_id=self.user_sales_salesman.id)
        self.assertEqual(lead.sla_deadline, MON_16_NY)

    def test_checklist_activity_is_no_planned_next_step(self):
        """A checklist item's activity is the process's work, not a next step the rep planned: it
        does not move the deadline of a stage whose clock waits for planned activities (one
        definition with the stages that require a planned activity to enter)."""
        self.env["crm.stage.checklist.item"].create({
            "stage_id": self.stage_proposition.id, "name": "Send the offer", "due_offset": 10,
            "due_offset_unit": "days",
        })
        with self.mock_datetime_and_now(FRI_16_NY):
            lead = self._create_lead(stage_id=self.stage_proposition.id)
        self.assertTrue(lead.checklist_line_ids.activity_id, "the item has its activity, due in 10 days")
        self.assertEqual(lead.sla_deadline, FRI_16_NY + timedelta(hours=48))
        self.assertEqual(lead._get_planned_next_activity_leads(lead), set())

    def test_hold(self):
        """On hold: the clock stops, the card says so; it restarts by itself on the date and the
        deadline moves by the time on hold; holds are in the history."""
        with self.mock_datetime_and_now(FRI_16_NY):
            lead = self._create_lead(stage_id=self.stage_proposition.id)
        hold_at = FRI_16_NY + timedelta(hours=10)  # Saturday 02:00 NY, 38 hours left
        with self.mock_datetime_and_now(hold_at):
            lead.write({"sla_hold_until": date(2024, 6, 12), "sla_hold_reason": "Customer on vacation"})
        self.assertEqual(lead.sla_state, "none")
        self.assertEqual(lead.sla_hold_start, hold_at)
        self.assertEqual(lead.sla_resume_date, datetime(2024, 6, 12, 4, 0))  # Wednesday 00:00 NY
        self.assertFalse(lead.sla_escalation_date)
        stay = lead.stage_history_ids
        self.assertEqual((stay.hold_count, stay.hold_reason), (1, "Customer on vacation"))

        # the sweep leaves it alone until the date, then resumes it
        self._sweep(datetime(2024, 6, 12, 3, 59))
        self.assertEqual(lead.sla_hold_until, date(2024, 6, 12))
        resume_at = datetime(2024, 6, 12, 4, 0)
        self._sweep(resume_at)
        self.assertFalse(lead.sla_hold_until)
        self.assertFalse(lead.sla_hold_reason)
        self.assertEqual(lead.sla_state, "on_track")
        self.assertEqual(lead.sla_deadline, resume_at + timedelta(hours=38))
        self.assertAlmostEqual(lead.sla_paused_hours, (resume_at - hold_at).total_seconds() / 3600)
        self.assertAlmostEqual(stay.hold_hours, (resume_at - hold_at).total_seconds() / 3600)

    def test_hold_refusals_are_the_check_steps(self):
        """A hold without a reason, or of a lost lead, is refused in the check step's one message
        and nothing is written."""
        with self.mock_datetime_and_now(FRI_16_NY):
            lead = self._create_lead(stage_id=self.stage_proposition.id)
        with self.mock_datetime_and_now(FRI_16_NY + timedelta(hours=1)):
            with self.assertRaises(ValidationError) as refused:
                lead.write({"sla_hold_until": date(2024, 6, 12), "sla_hold_reason": " "})
            self.assertIn("Say why", str(refused.exception))
            self.assertFalse(lead.sla_hold_until)
            lead.action_set_lost()
            with self.assertRaises(ValidationError) as refused:
                lead.write({"sla_hold_until": date(2024, 6, 12), "sla_hold_reason": "Budget"})
            self.assertIn("cannot be put on hold", str(refused.exception))
            self.assertFalse(lead.sla_hold_until)

    def test_hold_overdue_lead_then_leave(self):
        """A lead put on hold once overdue stays late: leaving the stage records a missed SLA."""
        with self.mock_datetime_and_now(FRI_16_NY):
            lead = self._create_lead(stage_id=self.stage_proposition.id)
        with self.mock_datetime_and_now(FRI_16_NY + timedelta(hours=50)):
            lead.write({"sla_hold_until": date(2024, 6, 20), "sla_hold_reason": "Waiting for budget"})
        with self.mock_datetime_and_now(FRI_16_NY + timedelta(hours=60)):
            lead.action_sla_resume()
        self.assertEqual(lead.sla_state, "overdue")
        with self.mock_datetime_and_now(FRI_16_NY + timedelta(hours=61)):
            lead.write({"stage_id": self.stage_new.id})
        stay = lead.stage_history_ids.filtered(lambda s: s.stage_id == self.stage_proposition)
        self.assertEqual(stay.sla_result, "missed")
        self.assertAlmostEqual(stay.hold_hours, 10.0)

    def test_hold_refused(self):
        lead = self._create_lead()
        with self.mock_datetime_and_now(FRI_16_NY):
            with self.assertRaises(UserError):
                lead.write({"sla_hold_until": date(2024, 6, 20)})  # no reason
            with self.assertRaises(UserError):
                lead.write({"sla_hold_until": date(2024, 6, 7), "sla_hold_reason": "Today"})
            lead.action_set_lost()
            with self.assertRaises(UserError):
                lead.write({"sla_hold_until": date(2024, 6, 20), "sla_hold_reason": "Lost anyway"})


@tagged("sales_process_stages", "sla")
class TestSlaEscalation(SlaCommon):
    def test_escalation_once_and_only_once(self):
        """Overdue: one activity for the salesperson; 4 working hours later, one notification to the
        team leader; never again in the same stay, however often the sweep runs."""
        with self.mock_datetime_and_now(FRI_16_NY):
            lead = self._create_lead()
        self.assertEqual(lead.sla_escalation_date, MON_16_NY)
        # 4 working hours later: Monday 16-17, Tuesday 8-11 in New York
        tue_11_ny = datetime(2024, 6, 11, 15, 0)
        self.assertEqual(lead.sla_leader_date, tue_11_ny)

        self._sweep(MON_16_NY - MINUTE)
        self.assertFalse(self._sla_activities(lead))
        for __ in range(3):
            self._sweep(MON_16_NY)
        activity = self._sla_activities(lead)
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.user_sales_salesman)
        self.assertEqual(lead.sla_escalated_date, MON_16_NY)
        self.assertFalse(lead.sla_escalation_date)
        # the escalation itself does not extend the deadline
        self.assertEqual(lead.sla_state, "overdue")

        leader = self.sales_team_1.user_id
        messages = self.env["mail.message"].search([("model", "=", "crm.lead"), ("res_id", "=", lead.id),
                                                    ("partner_ids", "in", leader.partner_id.ids)])
        self.assertFalse(messages)
        self._sweep(tue_11_ny - MINUTE)
        self.assertFalse(lead.sla_leader_notified_date)
        for __ in range(3):
            self._sweep(tue_11_ny)
        messages = self.env["mail.message"].search([("model", "=", "crm.lead"), ("res_id", "=", lead.id),
                                                    ("partner_ids", "in", leader.partner_id.ids)])
        self.assertEqual(len(messages), 1)
        self.assertEqual(lead.sla_leader_notified_date, tue_11_ny)
        self.assertEqual(len(self._sla_activities(lead)), 1)

        # a new stay in the stage may escalate again
        with self.mock_datetime_and_now(datetime(2024, 6, 11, 18, 0)):
            lead.write({"stage_id": self.stage_proposition.id})
            lead.write({"stage_id": self.stage_new.id})
        self.assertFalse(lead.sla_escalated_date)
        self._sweep(datetime(2024, 6, 13, 0, 0))
        self.assertEqual(len(self._sla_activities(lead)), 2)

    def test_escalation_without_salesperson(self):
        """A lead without salesperson escalates to its team leader."""
        with self.mock_datetime_and_now(FRI_16_NY):
            lead = self._create_lead(user_id=False)
        self._sweep(MON_16_NY)
        self.assertEqual(self._sla_activities(lead).user_id, self.sales_team_1.user_id)

    def test_no_leader_notification_when_back_on_track(self):
        """A lead that is no longer overdue (a planned activity) notifies nobody."""
        self.stage_proposition.write({"sla_notify_leader": True, "sla_leader_delay": 1,
                                      "sla_leader_delay_unit": "hours"})
        with self.mock_datetime_and_now(FRI_16_NY):
            lead = self._create_lead(stage_id=self.stage_proposition.id)
        self._sweep(FRI_16_NY + timedelta(hours=48))
        self.assertEqual(lead.sla_state, "overdue")
        with self.mock_datetime_and_now(FRI_16_NY + timedelta(hours=48, minutes=30)):
            lead.activity_schedule(activity_type_id=self.activity_type_call.id, date_deadline=date(2024, 6, 14),
                                   user_id=self.user_sales_salesman.id)
        self.assertEqual(lead.sla_state, "on_track")
        self._sweep(FRI_16_NY + timedelta(hours=50))
        self.assertFalse(lead.sla_leader_notified_date)

    def test_sweep_in_batches_resumes(self):
        """A sweep cut by its time limit reports the work left; the next run resumes it."""
        with self.mock_datetime_and_now(FRI_16_NY):
            leads = self.env["crm.lead"].create([{
                "name": f"Batch {index}", "type": "opportunity", "team_id": self.sales_team_1.id,
                "stage_id": self.stage_proposition.id, "user_id": self.user_sales_salesman.id,
            } for index in range(5)])
        cron = self.env.ref("sales_process_stages.ir_cron_crm_lead_sla_sweep")
        progress = self.env["ir.cron.progress"].create({"cron_id": cron.id, "done": 0, "remaining": 0})
        later = FRI_16_NY + timedelta(hours=49)
        with self.mock_datetime_and_now(later):
            Lead = self.env["crm.lead"].with_context(ir_cron_progress_id=progress.id)
            done = Lead._cron_sweep_sla(batch_size=2, time_limit=0)
        self.assertEqual(done, 2)
        self.assertEqual((progress.done, progress.remaining), (2, 3))
        self.assertEqual(leads.mapped("sla_state").count("overdue"), 2)
        with self.mock_datetime_and_now(later):
            Lead._cron_sweep_sla(batch_size=2)
        self.assertEqual((progress.done, progress.remaining), (3, 0))
        self.assertEqual(set(leads.mapped("sla_state")), {"overdue"})

    def test_cron_record(self):
        cron = self.env.ref("sales_process_stages.ir_cron_crm_lead_sla_sweep")
        self.assertEqual(cron.code, "model._cron_sweep_sla(batch_size=10000)")
        with self.mock_datetime_and_now(FRI_16_NY):
            self._create_lead()
        cron.method_direct_trigger()


@tagged("sales_process_stages", "sla")
class TestSlaDailyReview(SlaCommon):
    def test_daily_review_order(self):
        """The daily review lists the most urgent first, then the biggest deals, by salesperson."""
        action = self.env.ref("sales_process_stages.crm_lead_action_daily_review")
        self.assertEqual(action.res_model, "crm.lead")
        self.assertIn("search_default_sla_review", action.context)
        self.assertIn("search_default_salesperson", action.context)
        order = etree.fromstring(action.view_id.arch_db).get("default_order")
        with self.mock_datetime_and_now(FRI_16_NY):
            small_late = self._create_lead(name="small late", expected_revenue=10)
            big_late = self._create_lead(name="big late", expected_revenue=1000)
            self._create_lead(name="no SLA", expected_revenue=9000, stage_id=self.stage_gen_1.id)
        with self.mock_datetime_and_now(datetime(2024, 6, 11, 0, 0)):
            big_due = self._create_lead(name="big due", expected_revenue=5000, stage_id=self.stage_proposition.id)
        # Wednesday: the leads of New are late, "big due" is due in 11 hours
        self._sweep(datetime(2024, 6, 12, 13, 0))
        self.assertEqual((small_late | big_late | big_due).mapped("sla_state"), ["overdue", "overdue", "due_soon"])
        leads = self.env["crm.lead"].search([("id", "in", (small_late | big_late | big_due).ids)], order=order)
        self.assertEqual(leads.mapped("name"), ["big late", "small late", "big due"])

    def test_checklist_review_action(self):
        action = self.env.ref("sales_process_stages.crm_lead_checklist_line_action_daily_review")
        self.assertEqual(action.res_model, "crm.lead.checklist.line")
        self.assertIn("search_default_review", action.context)


@tagged("sales_process_stages", "sla")
class TestSlaConfiguration(SlaCommon):
    def test_bad_configuration_refused(self):
        stage = self.stage_proposition
        for values in (
            {"sla_duration": 0},
            {"sla_duration": -2},
            {"sla_due_soon_type": "percent", "sla_due_soon_percent": 120},
            {"sla_due_soon_type": "percent", "sla_due_soon_percent": 0},
            {"sla_due_soon_type": "before", "sla_due_soon_before": -1},
            {"sla_due_soon_type": "before", "sla_due_soon_before": 48},
            {"sla_notify_leader": True, "sla_leader_delay": 0},
        ):
            with self.subTest(values=values), self.assertRaises(ValidationError):
                stage.write(values)
        # disabled, anything goes
        self.stage_gen_1.write({"sla_enabled": False, "sla_duration": 0})

    def test_calendar_without_working_time_refused(self):
        empty = self.env["resource.calendar"].create({"name": "Nobody works", "attendance_ids": False})
        with self.assertRaises(ValidationError) as error:
            self.sales_team_1.resource_calendar_id = empty
        self.assertIn("no working time", str(error.exception))
        # a stage counting working time of a team whose calendar has none
        team = self.env["crm.team"].create({"name": "Empty calendar team"})
        team.flush_recordset()
        self.env.cr.execute("UPDATE crm_team SET resource_calendar_id = %s WHERE id = %s", [empty.id, team.id])
        team.invalidate_recordset()
        with self.assertRaises(ValidationError):
            self.env["crm.stage"].create({
                "name": "Working stage", "team_id": team.id, "sla_enabled": True, "sla_time_basis": "working",
            })


@tagged("sales_process_stages", "sla")
class TestSlaConcurrency(SlaCommon):
    """Two sweeps at once, on committed data in their own cursors (as two cron workers)."""

    def setUp(self):
        super().setUp()
        self.addCleanup(self._cleanup_committed)
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {"tracking_disable": True, "mail_create_nosubscribe": True})
            # work already due in the database (other leads' SLAs run out since it was made) is swept
            # first, so that the counts below are this test's leads only
            env["crm.lead"]._cron_sweep_sla(auto_commit=False)
            stage = env["crm.stage"].create({
                "name": "Concurrent SLA", "sequence": 999, "sla_enabled": True, "sla_duration": 1,
                "sla_duration_unit": "hours", "sla_escalate": True,
            })
            leads = env["crm.lead"].create([{
                "name": f"Concurrent {index}", "type": "opportunity", "stage_id": stage.id,
                "user_id": env.ref("base.user_admin").id, "team_id": False,
            } for index in range(10)])
            # they entered the stage two hours ago
            leads.flush_recordset()
            cr.execute("""
                UPDATE crm_lead SET sla_deadline = sla_deadline - interval '2 hours',
                       sla_due_soon_date = sla_due_soon_date - interval '2 hours',
                       sla_escalation_date = sla_escalation_date - interval '2 hours'
                 WHERE id = ANY(%s)""", [leads.ids])
            self.stage_id, self.lead_ids = stage.id, leads.ids

    def _cleanup_committed(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            env["crm.lead"].with_context(active_test=False).browse(self.lead_ids).exists().unlink()
            env["crm.stage"].browse(self.stage_id).exists().unlink()

    def _worker(self):
        cr = self.registry.cursor()
        self.addCleanup(cr.close)
        cr.execute("SET lock_timeout = '10s'")
        return api.Environment(cr, api.SUPERUSER_ID, {"mail_notify_force_send": False})["crm.lead"]

    def _escalations(self):
        with self.registry.cursor() as cr:
            cr.execute("""
                SELECT res_id, count(*) FROM mail_activity
                 WHERE res_model = 'crm.lead' AND res_id = ANY(%s) GROUP BY res_id""", [self.lead_ids])
            return dict(cr.fetchall())

    @mute_logger("odoo.addons.mail.models.mail_mail", "odoo.addons.base.models.ir_mail_server")
    def test_two_workers_skip_locked(self):
        """Worker A holds a batch of escalations (not committed yet): worker B sweeps the others and
        skips A's; once A commits, no sweep escalates anything again."""
        worker_a, worker_b = self._worker(), self._worker()
        worker_a._cron_sweep_sla(escalation_batch_size=0, auto_commit=True)  # states only
        self.assertEqual(worker_a._sla_sweep_escalate(4), 4)  # locked, not committed
        self.assertEqual(worker_b._cron_sweep_sla(escalation_batch_size=3, auto_commit=True), 6)
        worker_a.env.cr.commit()
        self.assertEqual(worker_b._cron_sweep_sla(auto_commit=True), 0)
        self.assertEqual(worker_a._cron_sweep_sla(auto_commit=True), 0)
        self.assertEqual(self._escalations(), dict.fromkeys(self.lead_ids, 1))

    @mute_logger("odoo.addons.mail.models.mail_mail", "odoo.addons.base.models.ir_mail_server")
    def test_two_workers_stale_snapshot(self):
        """Worker B's snapshot predates worker A's commit: B's batch gives way on the rows A changed
        and runs again on a fresh snapshot, escalating only the others."""
        worker_a, worker_b = self._worker(), self._worker()
        worker_a._cron_sweep_sla(escalation_batch_size=0, auto_commit=True)
        worker_b.env.cr.execute("SELECT 1")  # B's transaction (and snapshot) starts
        worker_b.env.cr.execute("SELECT count(*) FROM crm_lead")
        self.assertEqual(worker_a._sla_sweep_escalate(4), 4)
        worker_a.env.cr.commit()
        self.assertEqual(run_batch(worker_b.env, lambda: worker_b._sla_sweep_escalate(100), True), 6)
        self.assertEqual(self._escalations(), dict.fromkeys(self.lead_ids, 1))


@tagged("sales_process_stages", "sla", "sla_performance")
class TestSlaPerformance(SlaCommon):
    """Query counts: the kanban with badges and checklist progress, and stage moves in batch."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["crm.lead"].create([{
            "name": f"Card {index}", "type": "opportunity", "team_id": cls.sales_team_1.id,
            "stage_id": (cls.stage_new if index % 2 else cls.stage_proposition).id,
            "user_id": cls.user_sales_leads.id, "expected_revenue": 100 * index,
        } for index in range(60)])

    def setUp(self):
        super().setUp()
        self.patch(self.env.registry, "ready", True)
        self.env.flush_all()

    def _kanban_specifications(self):
        """Specifications of the pipeline kanban's cards: crm's own card, and the card as shown."""
        Lead = self.env["crm.lead"]
        views = Lead.get_views([(False, "kanban")])
        fields_info = views["models"]["crm.lead"]["fields"]
        crm_arch = etree.fromstring(self.env.ref("crm.crm_case_kanban_view_leads").sudo().arch_db)
        crm_names = {node.get("name") for node in crm_arch.iter("field")}

        def spec(names):
            result = {}
            for name in names:
                if fields_info[name]["type"] in ("many2one", "many2many", "one2many"):
                    result[name] = {"fields": {"display_name": {}}}
                else:
                    result[name] = {}
            return result

        return spec(crm_names & set(fields_info)), spec(fields_info)

    def _count_kanban_queries(self, specification, limit):
        Lead = self.env["crm.lead"]
        domain = [("type", "=", "opportunity"), ("team_id", "=", self.sales_team_1.id)]
        self.env.invalidate_all()
        start = self.env.cr.sql_log_count
        groups = Lead.web_read_group(domain, ["stage_id"], ["stage_id"], lazy=True)["groups"]
        for group in groups:
            Lead.web_search_read(group["__domain"], specification, limit=limit)
        return self.env.cr.sql_log_count - start

    @users("user_sales_leads")
    @warmup
    def test_kanban_queries(self):
        """The card's badges and checklist progress cost at most 2 queries more than crm's card,
        whatever the number of cards."""
        plain, full = self._kanban_specifications()
        self.assertIn("sla_state", full)
        self.assertIn("days_in_stage", full)
        self.assertIn("checklist_mandatory_done", full)
        for limit in (5, 40):
            with self.subTest(cards=limit):
                plain_count = self._count_kanban_queries(plain, limit)
                full_count = self._count_kanban_queries(full, limit)
                if self.warm:
                    _logger.info("kanban, %s cards per column: %s queries for crm's card, %s with badges and "
                                 "checklist", limit, plain_count, full_count)
                self.assertLessEqual(full_count - plain_count, 2, (plain_count, full_count))

    def _move(self, count):
        """Queries of moving ``count`` leads between two SLA stages."""
        with self.mock_datetime_and_now(FRI_16_NY):
            leads = self.env["crm.lead"].with_context(tracking_disable=True).create([{
                "name": f"Move {index}", "type": "opportunity", "team_id": self.sales_team_1.id,
                "stage_id": self.stage_new.id, "user_id": self.user_sales_leads.id,
            } for index in range(count)])
            self.env.flush_all()
            self.env.invalidate_all()
            leads = leads.with_user(self.env.user)
            start = self.env.cr.sql_log_count
            leads.write({"stage_id": self.stage_proposition.id})
            self.env.flush_all()
            return self.env.cr.sql_log_count - start

    @users("user_sales_leads")
    @warmup
    def test_move_constant_queries(self):
        """Moving 10 or 100 leads costs the same number of queries: history rows, SLA values and
        calendars are written and read in batch."""
        self.env = self.env(context=dict(self.env.context, tracking_disable=True))
        self._move(5)  # caches of the environment
        counts = [self._move(10), self._move(100)]
        if self.warm:
            _logger.info("moving 10 leads: %s queries, 100 leads: %s queries", *counts)
        self.assertEqual(counts[0], counts[1], counts)
