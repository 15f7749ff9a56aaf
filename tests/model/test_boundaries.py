import ast
import pathlib

import specfm.model
import specfm.training

FORBIDDEN = {
    "model": ("specfm.synth", "specfm.predict", "specfm.training", "specfm.cli",
              "astropy.table"),
    "training": ("specfm.synth", "specfm.predict", "specfm.cli", "astropy.table"),
}


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
    for name, module in (("model", specfm.model), ("training", specfm.training)):
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
