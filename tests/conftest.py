"""pytest hooks shared by every test of the project (run by pytest-odoo).

A green run must prove something, so this makes the run fail (exit status 1) when
- any test was skipped or xfailed (Odoo skips a tour when it finds no Chrome or no
  websocket-client, an HttpCase without --odoo-http, ...): a skip proves nothing;
- no test ran at all;
- a test passed but logged an ERROR or CRITICAL record (Odoo's own test runner
  counts those as failures; pytest alone would not). Expected errors are muted
  with odoo.tools.mute_logger, as in Odoo's tests.
"""

import logging

import pytest


def _not_import_framework_error(record):
    # pytest-odoo imports odoo.tests before it turns test_enable on (it cannot do so
    # globally: Odoo would then run every module's tests while loading the registry),
    # so Odoo logs "Importing test framework ..." as an ERROR with a stack. Noise here.
    return not str(record.msg).startswith("Importing test framework")


# this conftest is loaded before pytest-odoo's pytest_cmdline_main imports odoo.tests
logging.getLogger("odoo.tests.common").addFilter(_not_import_framework_error)


class _ErrorLogCollector(logging.Handler):
    """Collects ERROR+ records emitted while a test runs."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.records = []

    def emit(self, record):
        self.records.append(record)


class _OutcomeGuard:
    def __init__(self):
        self.skipped = []  # (nodeid, reason)
        self.ran = 0

    # -- ERROR logs fail the test that emitted them --------------------------------
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        records = item.__dict__.get("_sps_error_records", {}).get(call.when, [])
        if records and report.passed:
            report.outcome = "failed"
            report.longrepr = "ERROR/CRITICAL logged during {}:\n{}".format(
                call.when,
                "\n".join(f"{r.levelname} {r.name}: {r.getMessage()}" for r in records),
            )

    def _phase(self, item, when):
        collector = _ErrorLogCollector()
        root = logging.getLogger()
        root.addHandler(collector)
        try:
            yield
        finally:
            root.removeHandler(collector)
            item.__dict__.setdefault("_sps_error_records", {})[when] = collector.records

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(self, item):
        yield from self._phase(item, "setup")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        yield from self._phase(item, "call")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_teardown(self, item):
        yield from self._phase(item, "teardown")

    # -- skips and empty runs fail the session ------------------------------------
    def pytest_runtest_logreport(self, report):
        if report.skipped:
            if hasattr(report, "wasxfail"):
                reason = f"xfail: {report.wasxfail}"
            elif isinstance(report.longrepr, tuple):
                reason = report.longrepr[2]
            else:
                reason = str(report.longrepr)
            self.skipped.append((report.nodeid, reason))
        elif report.when == "call":
            self.ran += 1

    def problems(self):
        msgs = [f"SKIPPED (a skip proves nothing): {nodeid}: {reason}" for nodeid, reason in self.skipped]
        if not self.ran:
            msgs.append("NO TEST RAN: a run that tests nothing is a failure")
        return msgs

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session, exitstatus):
        if self.problems() and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter):
        problems = self.problems()
        if problems:
            terminalreporter.section("run refused", sep="=", red=True, bold=True)
            for msg in problems:
                terminalreporter.line(msg, red=True)


def pytest_collection_modifyitems(items):
    """Odoo tags test classes (test_tags, test_module) only in modules named
    odoo.addons.*; BaseCase.setUpClass needs them, and ours live in tests.*:
    give untagged classes Odoo's defaults."""
    from odoo.tests.common import BaseCase

    for item in items:
        cls = getattr(item, "cls", None)
        if cls is None or not issubclass(cls, BaseCase):
            continue
        if getattr(cls, "test_tags", None) is None:
            cls.test_tags = {"standard", "at_install"}
        if not hasattr(cls, "test_module"):
            cls.test_module = "sales_process_stages"


def pytest_configure(config):
    config.pluginmanager.register(_OutcomeGuard(), "sales_process_stages_outcome_guard")
