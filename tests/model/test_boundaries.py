import ast
import pathlib

import specfm.model
import specfm.synth
import specfm.tokens
import specfm.training

# Layers, lowest first: tokens -> model -> training -> inference -> cli, with synth (data
# generation) beside tokens: training may read synthetic data, synth knows no model.
FORBIDDEN = {
    "tokens": ("specfm.model", "specfm.training", "specfm.synth", "specfm.inference",
               "specfm.cli"),
    "model": ("specfm.synth", "specfm.inference", "specfm.training", "specfm.cli",
              "astropy.table"),
    "training": ("specfm.inference", "specfm.cli", "astropy.table"),
    "synth": ("specfm.model", "specfm.training", "specfm.inference", "specfm.cli"),
}
PACKAGES = {"tokens": specfm.tokens, "model": specfm.model, "training": specfm.training,
            "synth": specfm.synth}


def _imports(path, package):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against specfm.<package>
                base = ["specfm", package][: 3 - node.level]
                yield ".".join(base + ([node.module] if node.module else []))
            else:
                yield node.module


def test_layers_import_only_downwards():
    for name, module in PACKAGES.items():
        folder = pathlib.Path(module.__file__).parent
        for path in folder.glob("*.py"):
            for imported in _imports(path, name):
                assert not imported.startswith(FORBIDDEN[name]), (path.name, imported)


def test_every_module_declares_all():
    for module in (specfm.model, specfm.training):
        folder = pathlib.Path(module.__file__).parent
        for path in folder.glob("*.py"):
            if path.name != "__init__.py":
                assert "__all__" in path.read_text(), path
        for name in module.__all__:
            assert getattr(module, name) is not None
