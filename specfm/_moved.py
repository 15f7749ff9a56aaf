"""Import paths that moved, kept working with a deprecation warning for one release.

Until this release specfm called its prediction layer ``specfm.predict``, a package that
could also be called. That layer is now `specfm.inference`, and ``specfm.predict`` is the
function `specfm.inference.predict`. So that ``from specfm.predict import Model`` and
``import specfm.predict.model`` keep working, `register_moved_package` puts a stand-in
module for the old package (and one for each of its modules) in `sys.modules`; taking a
name from a stand-in warns with `~specfm.exceptions.SpecfmDeprecationWarning` and gives
the object of the new module, the same object, not a copy. Because the old name is already
in `sys.modules`, importing it never rebinds ``specfm.predict``, which stays the function.
"""

import importlib
import pkgutil
import sys
import types
import warnings

from .exceptions import SpecfmDeprecationWarning

__all__ = ["MovedModule", "moved_names", "register_moved_package"]


class MovedModule(types.ModuleType):
    """A stand-in for a module that moved: every name it is asked for warns and is forwarded.

    Parameters
    ----------
    old : str
        The old dotted name (e.g. ``"specfm.predict.model"``).
    new : str
        Where the module lives now (e.g. ``"specfm.inference.model"``).

    """

    def __init__(self, old, new):
        super().__init__(old, f"Moved to {new}; this name works until the next release.")
        self.__path__ = []  # so that its own modules (old.sub) can be imported by name
        self._specfm_new = new

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__") and name != "__all__":
            raise AttributeError(name)
        new = object.__getattribute__(self, "_specfm_new")
        target = importlib.import_module(new)
        try:
            value = getattr(target, name)
        except AttributeError:
            try:
                value = importlib.import_module(f"{new}.{name}")
            except ModuleNotFoundError:
                raise AttributeError(f"module {self.__name__!r} (now {new!r}) has no "
                                     f"attribute {name!r}") from None
        warnings.warn(f"{self.__name__} has moved to {new}: import {name} from {new} "
                      f"(or from specfm) instead; the old name goes in the next release.",
                      SpecfmDeprecationWarning, stacklevel=2)
        return value

    def __dir__(self):
        return dir(importlib.import_module(object.__getattribute__(self, "_specfm_new")))


def register_moved_package(old, new):
    """Make the package ``old`` and each of its modules stand-ins for those of ``new``.

    Parameters
    ----------
    old, new : str
        Dotted names; ``new`` must be an importable package.

    """
    package = importlib.import_module(new)
    sys.modules.setdefault(old, MovedModule(old, new))
    for info in pkgutil.iter_modules(package.__path__):
        sys.modules.setdefault(f"{old}.{info.name}", MovedModule(f"{old}.{info.name}",
                                                                 f"{new}.{info.name}"))


def moved_names(module, moved):
    """Return a module ``__getattr__`` that forwards names which moved to another module.

    Parameters
    ----------
    module : str
        The module that held the names (its ``__name__``).
    moved : dict
        ``{name: new module}`` (dotted names); the object is looked up there by name when
        asked for, so that the old module does not import the new one.

    Returns
    -------
    callable
        For ``module.__getattr__`` (PEP 562): warns with `SpecfmDeprecationWarning` and
        returns the object, or raises `AttributeError` for any other name.

    """
    def __getattr__(name):
        if name not in moved:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        warnings.warn(f"{module}.{name} has moved: use specfm.{name} (or {moved[name]}.{name})"
                      "; the old name goes in the next release.", SpecfmDeprecationWarning,
                      stacklevel=2)
        return getattr(importlib.import_module(moved[name]), name)

    return __getattr__
