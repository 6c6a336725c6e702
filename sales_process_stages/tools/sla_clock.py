"""Counting SLA time: calendar time, or the working time of a ``resource.calendar``.

A clock plans a number of hours from a start (forwards or backwards) and counts the hours
between two instants. Working time is the calendar's attendances minus its leaves, in the
calendar's time zone, as ``resource.calendar._work_intervals_batch`` gives them. The clock
loads these intervals by four-week windows and keeps them, so that planning the deadlines of
a batch of leads costs a few queries per calendar whatever the number of leads (where
``resource.calendar.plan_hours`` queries attendances and leaves at every call).

All datetimes in and out are naive UTC, as the ORM stores them.
"""

from datetime import datetime, time, timedelta

import pytz

WINDOW = timedelta(days=28)
EPOCH = datetime(2000, 1, 3)  # a Monday: windows start on Mondays
MAX_WINDOWS = 40  # about three years of search for working time


class SlaClock:
    def __init__(self, calendar=None, working=False):
        """:param calendar: ``resource.calendar`` record (its time zone is used even in calendar time)
        :param working: count the calendar's working time, else every hour of the day"""
        self.calendar = calendar or None
        self.working = bool(working and self.calendar)
        self.tz = pytz.timezone(self.calendar.tz if self.calendar and self.calendar.tz else "UTC")
        self._windows = {}
        self._plans = {}  # (start, hours): plan(start, hours): the leads of a batch mostly share both
        self._day_starts = {}

    # ------------------------------------------------------------
    # working intervals
    # ------------------------------------------------------------

    @staticmethod
    def _index(dt):
        return (dt - EPOCH) // WINDOW

    def _window(self, index):
        """Work intervals of window ``index`` as sorted (start, stop) naive UTC pairs."""
        if index not in self._windows:
            start = EPOCH + index * WINDOW
            # cached across requests by the registry (resource.calendar._get_sla_work_intervals)
            self._windows[index] = self.calendar._get_sla_work_intervals(start, start + WINDOW)
        return self._windows[index]

    def has_working_time(self, start):
        """Whether the calendar has working time within MAX_WINDOWS after ``start``."""
        return not self.working or self.plan(start, 0.0) is not None

    # ------------------------------------------------------------
    # planning and counting
    # ------------------------------------------------------------

    def plan(self, start, hours):
        """Instant when ``hours`` of counted time have passed since ``start`` (before it when
        negative); None when the calendar has no working time in reach."""
        if not self.working:
            return start + timedelta(hours=hours)
        key = (start, hours)
        if key not in self._plans:
            self._plans[key] = self._plan_working(start, hours)
        return self._plans[key]

    def _plan_working(self, start, hours):
        seconds = round(hours * 3600)
        first = self._index(start)
        if seconds >= 0:
            for index in range(first, first + MAX_WINDOWS):
                for begin, end in self._window(index):
                    if end <= start:
                        continue
                    begin = max(begin, start)
                    available = (end - begin).total_seconds()
                    if seconds <= available:
                        return begin + timedelta(seconds=seconds)
                    seconds -= available
            return None
        seconds = -seconds
        for index in range(first, first - MAX_WINDOWS, -1):
            for begin, end in reversed(self._window(index)):
                if begin >= start:
                    continue
                end = min(end, start)
                available = (end - begin).total_seconds()
                if seconds <= available:
                    return end - timedelta(seconds=seconds)
                seconds -= available
        return None

    def hours_between(self, start, stop):
        """Counted hours from ``start`` to ``stop`` (negative when ``stop`` is before ``start``)."""
        if stop < start:
            return -self.hours_between(stop, start)
        if not self.working:
            return (stop - start).total_seconds() / 3600
        seconds = 0.0
        for index in range(self._index(start), self._index(stop) + 1):
            for begin, end in self._window(index):
                overlap = (min(end, stop) - max(begin, start)).total_seconds()
                if overlap > 0:
                    seconds += overlap
        return seconds / 3600

    # ------------------------------------------------------------
    # days in the calendar's time zone
    # ------------------------------------------------------------

    def day_start(self, day):
        """UTC instant when ``day`` (a date) starts in the clock's time zone."""
        if day not in self._day_starts:
            local = self.tz.localize(datetime.combine(day, time.min))
            self._day_starts[day] = local.astimezone(pytz.utc).replace(tzinfo=None)
        return self._day_starts[day]

    def day_end(self, day):
        """UTC instant when ``day`` ends (the next day starts) in the clock's time zone."""
        return self.day_start(day + timedelta(days=1))
