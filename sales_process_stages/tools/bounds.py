"""Bounds of the dates and durations users enter, checked where they are entered (the model
owning the field), with a message naming the field and the limit. The process computes with
these values (deadlines, the customer status, the sweeps): a value out of them (a year 9999, a
delay of two billion days) would otherwise be accepted and fail later, in every computation
that reads it.

- the closing date and the expected closing of a lead: from 1900-01-01 to today + 100 years;
- the due date of a lead's activity (the SLA reads it): within 10 years of today;
- an SLA hold: until a date to come, at most a year ahead;
- the SLA's durations (budget, "due soon" before, leader delay): above zero, at most 3650 days
  (in their unit: 87,600 hours, 5,256,000 minutes);
- the delay before the next call attempt: 0 to 365 days (8,760 hours);
- a checklist item's due offset: 0 to 3650 days (87,600 hours).
"""

from datetime import date, datetime, time

from dateutil.relativedelta import relativedelta

from odoo.exceptions import ValidationError

# closing dates (``crm.lead.date_closed``, ``date_deadline``)
DATE_MIN = date(1900, 1, 1)
DATE_MAX_YEARS = 100
# due date of a lead's activity, ± years from today
ACTIVITY_DEADLINE_YEARS = 10
# an SLA hold ends within a year
HOLD_MAX_DAYS = 366
# the SLA's durations (``crm.stage``), the checklist items' due offsets, in days
SLA_DURATION_MAX_DAYS = 3650
CHECKLIST_DUE_MAX_DAYS = 3650
# the delay before the next call attempt (``crm.team``), in days
CALL_RETRY_MAX_DAYS = 365
# hours and minutes per day, to say a limit in days in a duration's unit
UNIT_PER_DAY = {"minutes": 24 * 60, "hours": 24, "days": 1}


def to_date(value):
    """The date of ``value`` (a date or a datetime)."""
    return value.date() if isinstance(value, datetime) else value


def closing_date_range(today):
    """(lowest, highest) date of a lead's closing dates, ``today`` the user's."""
    return DATE_MIN, today + relativedelta(years=DATE_MAX_YEARS)


def activity_deadline_range(today):
    """(lowest, highest) due date of a lead's activity."""
    return today - relativedelta(years=ACTIVITY_DEADLINE_YEARS), today + relativedelta(years=ACTIVITY_DEADLINE_YEARS)


def clamp_date(value, lowest, highest):
    """``value`` (a date) within [lowest, highest]: out-of-range dates already in the database
    count at the bound instead of failing the computations that read them."""
    return min(max(value, lowest), highest)


def datetime_at(day):
    """The first instant of ``day``, naive (as the ORM stores datetimes)."""
    return datetime.combine(day, time.min)


def check_date(env, value, label, lowest, highest):
    """Refuse ``value`` (a date or datetime, or False) out of [lowest, highest] (dates).

    :param label: the field's name as users read it"""
    if not value:
        return
    day = to_date(value)
    if not lowest <= day <= highest:
        raise ValidationError(env._(
            "%(field)s must be between %(lowest)s and %(highest)s, not %(value)s.",
            field=label, lowest=lowest, highest=highest, value=day))


def max_in_unit(max_days, unit):
    """A limit of ``max_days`` days in ``unit`` (minutes, hours, days)."""
    return max_days * UNIT_PER_DAY[unit]


def check_duration(env, value, unit, label, max_days, unit_label, allow_zero=False):
    """Refuse a duration ``value`` in ``unit`` below zero (or zero, unless ``allow_zero``) or
    above ``max_days`` days.

    :param label: the field's name as users read it
    :param unit_label: the unit as users read it"""
    highest = max_in_unit(max_days, unit)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value \
            or value < 0 or (not allow_zero and value == 0) or value > highest:
        if allow_zero:
            message = env._(
                "%(field)s must be from 0 to %(highest)s %(unit)s (%(days)s days), not %(value)s.",
                field=label, highest=highest, unit=unit_label, days=max_days, value=value)
        else:
            message = env._(
                "%(field)s must be above 0 and at most %(highest)s %(unit)s (%(days)s days), not %(value)s.",
                field=label, highest=highest, unit=unit_label, days=max_days, value=value)
        raise ValidationError(message)
