"""Every import of a sibling module in ``benchmarks/`` names a module that exists.

Imports inside functions run only on some paths (``hundred_stars.py``'s flux correction
imports ``_xp_domain_gap`` only with ``--calibrate``), so a renamed module would fail only
in a long benchmark run; this reads the imports without running them.
"""

import ast
import pathlib
import sys

import pytest

BENCHMARKS = pathlib.Path(__file__).resolve().parents[2] / "benchmarks"
SCRIPTS = sorted(BENCHMARKS.glob("*.py"))


def _imported_modules(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]
        elif isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)


def _is_installed(name):
    import importlib.util

    return name in sys.builtin_module_names or importlib.util.find_spec(name) is not None


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_imports_name_existing_modules(path):
    local = {p.stem for p in SCRIPTS}
    missing = [name for name in set(_imported_modules(path))
               if name not in local and not _is_installed(name)
               and name not in ("xgboost", "dask", "distributed", "gaiaxpy")]
    assert not missing, f"{path.name} imports modules that do not exist: {missing}"
