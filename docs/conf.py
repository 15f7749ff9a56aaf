# Sphinx configuration for specfm, on top of sphinx-astropy's shared settings.
#
# The build must work offline and with -W (warnings are errors): CI runs
# `sphinx-build -W -b html docs docs/_build/html`.

import datetime
from importlib import metadata

from sphinx_astropy.conf.v2 import *  # noqa: F403

# -- Project -----------------------------------------------------------------------------

project = "specfm"
author = "The specfm developers"
copyright = f"2026-{datetime.datetime.now(datetime.timezone.utc).year}, {author}"

try:
    release = metadata.version(project)
except metadata.PackageNotFoundError:  # building from a tree that was never installed
    release = "0.0.0.dev0"
version = release.split("+")[0]

# -- Sources -----------------------------------------------------------------------------

# sphinx-astropy excludes '_build'; automodapi writes its pages to 'api/' (git-ignored).
rst_epilog += """
.. |specutils| replace:: `specutils <https://specutils.readthedocs.io>`__
"""  # noqa: F405

# -- Offline build -----------------------------------------------------------------------

# Intersphinx would download the inventories of Python, NumPy, astropy, ... at every build;
# CI and the developers' machines have no such network, so references to other projects'
# objects are written as plain text instead, and not checked (see nitpick_ignore_regex).
intersphinx_mapping = {}

# -- Cross-references --------------------------------------------------------------------

# Every reference to specfm's own objects must resolve; references to other packages
# cannot be checked offline, so they are let through. When a build fails with "reference
# target not found" for a specfm name, write the reference so that it resolves from the
# module that defines the object (or fully qualified: `specfm.tokens.TokenBatch`).
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|astropy|specutils|torch|scipy|matplotlib|safetensors|h5py|tqdm)(\..*)?"),
    (r"py:.*", r"(dust_extinction|synphot|sklearn|pandas)(\..*)?"),
    (r"py:.*", r"(argparse|pathlib|enum|dataclasses|collections|typing|abc|os|io)(\..*)?"),
    (r"py:.*", r"(Spectrum|Spectrum1D|QTable|Table|Quantity|StdDevUncertainty)"),
    (r"py:.*", r"(Unit|UnitBase|CompositeUnit|IrreducibleUnit|PhysicalType)"),
    (r"py:.*", r"(int|float|str|bool|bytes|list|tuple|dict|set|object|callable)"),
    (r"py:.*", r"(None|True|False|Ellipsis|NotImplemented)"),
    (r"py:.*", r"(array-like|array_like|path-like|optional|default|sequence|iterable)"),
    (r"py:.*", r"(ValueError|TypeError|KeyError|RuntimeError|UserWarning|Exception)"),
]

# -- Extensions --------------------------------------------------------------------------

# Inheritance diagrams need Graphviz's `dot`, which is not installed everywhere.
automodapi_inheritance_diagram = False

# The tutorial notebook (docs/tutorials/tutorial.ipynb, stored without outputs) is executed
# on every build, on the bundled example data, so that its outputs are always current.
extensions += ["myst_nb"]  # noqa: F405
source_suffix = {".rst": "restructuredtext", ".ipynb": "myst-nb"}
exclude_patterns += ["**.ipynb_checkpoints", "jupyter_execute"]  # noqa: F405
nb_execution_mode = "force"
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
numpydoc_xref_param_type = False

# -- HTML --------------------------------------------------------------------------------

html_title = f"{project} {version}"
html_theme_options = {
    **html_theme_options,  # noqa: F405
    "navigation_with_keys": False,
}
html_static_path = []
