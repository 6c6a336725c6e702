"""The scheduled sweeps (the SLA's, the customer status'): run by the scheduler only
(``check_scheduler``); their batches each committed on its own out of tests, giving way to
another worker on the same rows, and surviving any one record.

``run_sweep`` is the crons' one batch-and-commit loop: each step runs by batches until one comes
back short; past the time limit the run reports the work left to the scheduler
(``ir.cron._notify_progress``), which runs it again at once.

``run_batch`` runs a batch: committed out of tests; when it meets the batch of another worker
(serialization failure, lock not available, deadlock) it rolls back and runs again on a fresh
snapshot.

``process_or_skip`` processes records inside a savepoint; when that fails, the batch is split
in halves, each processed again in its own savepoint, until the records that fail are alone:
each is logged (a warning naming it and the error) and skipped, the others are processed. One
record that cannot be processed (a date out of range written around the checks, a broken
setting) never stops the sweep for the database: it costs a few savepoints, not the batch.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from psycopg2 import errors as pg_errors

from odoo.exceptions import ValidationError

_logger = logging.getLogger(__name__)

# another worker's transaction on the same rows: never a record's fault, the batch runs again
CONCURRENCY_ERRORS = (pg_errors.SerializationFailure, pg_errors.LockNotAvailable, pg_errors.DeadlockDetected)


def check_scheduler(env, sweep):
    """The sweeps are the scheduler's: they run as the scheduler's user (the superuser), or for
    an administrator (Settings), never for a user calling their server action or method over
    RPC (they work as superuser on every record).

    :param sweep: the sweep's name as users read it"""
    if not (env.su or env.user._is_system()):
        raise ValidationError(env._("%(sweep)s is run by the scheduler, not by users.", sweep=sweep))


def default_auto_commit():
    """Commit each batch out of tests only (a test's transaction is rolled back at its end)."""
    return not getattr(threading.current_thread(), "testing", False)


@dataclass(frozen=True)
class SweepStep:
    """One step of a sweep: ``run(limit)`` processes one batch of at most ``limit`` records and
    returns how many it processed; ``remaining()`` counts what this step and the next ones have
    left (the scheduler's progress); ``finished()``, when given, runs once the step has no
    batch left (in the last batch's transaction, committed with it)."""

    run: Callable[[int], int]
    limit: int
    remaining: Callable[[], int]
    finished: Callable[[], None] | None = None


def run_sweep(env, steps, time_limit, auto_commit):
    """Run the ``steps`` (``SweepStep``) in order, each by batches (``run_batch``: committed out
    of tests, given way to another worker) until a batch comes back short of its limit. After
    ``time_limit`` seconds the run stops between two batches and reports the work left
    (``ir.cron._notify_progress``): the scheduler runs it again at once, and the next run resumes
    where this one stopped.

    :return: (records processed, whether every step ran to its end)"""
    stop_at = time.monotonic() + time_limit
    done = 0
    for step in steps:
        while step.limit > 0:
            count = run_batch(env, lambda step=step: step.run(step.limit), auto_commit)
            done += count
            if count < step.limit:
                break
            if time.monotonic() >= stop_at:
                env["ir.cron"]._notify_progress(done=done, remaining=step.remaining())
                return done, False
        if step.finished:
            step.finished()
            if auto_commit:
                env.cr.commit()  # pylint: disable=invalid-commit
    env["ir.cron"]._notify_progress(done=done, remaining=0)
    return done, True


def run_batch(env, step, auto_commit, attempts=3):
    """Run ``step()`` (one batch), committed out of tests (``auto_commit``); on a concurrency
    error it rolls back and runs again (in tests, where nothing is committed, it raises).

    :return: what ``step`` returns, 0 when every attempt gave way"""
    for __ in range(attempts):
        try:
            result = step()
            if auto_commit:
                env.cr.commit()  # pylint: disable=invalid-commit
            return result
        except CONCURRENCY_ERRORS:
            if not auto_commit:
                raise
            env.cr.rollback()
    return 0


def process_or_skip(records, process, what, logger=_logger):
    """Run ``process(records)``; when it fails, split ``records`` in halves until each record
    that fails is alone, log it and skip it: the others are processed.

    :param process: function of a recordset
    :param what: what the sweep does, for the log ("SLA sweep: resume holds")
    :return: the records skipped"""
    if not records:
        return records
    try:
        with records.env.cr.savepoint():
            process(records)
        return records.browse()
    except CONCURRENCY_ERRORS:
        raise
    except Exception as error:  # noqa: BLE001 - any error of one record: it is logged and skipped
        if len(records) == 1:
            logger.warning("%s: %s skipped, it cannot be processed (%s: %s)", what, records,
                           type(error).__name__, error, exc_info=True)
            return records
    half = len(records) // 2
    return (process_or_skip(records[:half], process, what, logger)
            | process_or_skip(records[half:], process, what, logger))
