"""The addon's tests for Odoo's own runner (``odoo-bin --test-tags /sales_process_stages``).

The tests live once, in the repository's ``tests/`` beside this addon, where pytest-odoo runs
them (``make test``). In a checkout of the repository, this package extends its path to that
folder and imports its test modules, so Odoo's runner (OCA's CI, runbot-style pipelines) finds
the same tests under ``odoo.addons.sales_process_stages.tests``. An addon installed without the
repository (a wheel, a copy of this folder) has no tests to run, as most installed addons.
The pytest-only module ``test_install`` (odoo-bin subprocesses driven by pytest fixtures) holds
no Odoo test case: Odoo's runner finds nothing in it.
"""

import importlib
import pkgutil
from pathlib import Path

_REPOSITORY_TESTS = Path(__file__).resolve().parents[2] / "tests"

if (_REPOSITORY_TESTS / "common.py").is_file():
    __path__.append(str(_REPOSITORY_TESTS))  # noqa: F821 (a package's __path__)
    for _module in pkgutil.iter_modules([str(_REPOSITORY_TESTS)]):
        if _module.name.startswith("test_"):
            globals()[_module.name] = importlib.import_module(f"{__name__}.{_module.name}")
