"""The package version, for modules that record it (model files, tables, the CLI).

setuptools_scm writes ``specfm/_version.py`` at install time; without it (a bare source
tree) the version is ``0.0.0.dev0``. Modules import it from here rather than from the
package root, so that no module depends on ``specfm/__init__.py``.
"""

try:
    from ._version import version
except ImportError:  # pragma: no cover - only without an installed version file
    version = "0.0.0.dev0"

__all__ = ["version"]
