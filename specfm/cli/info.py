"""Describe a model: labels, label ranges, wavelength coverage, checksum, architecture.

``specfm info MODEL`` prints what `specfm.inference.Model.info` returns, for a shipped
model's name or a model folder; ``--json`` prints it as JSON. Without ``MODEL``, the
shipped models are listed.
"""

import json

from ..inference.api import resolve_model
from ..model import parameter_count_text
from ..pretrained import available_models, registry_dir

__all__ = ["describe", "run", "setup_parser"]


def setup_parser(parser):
    """Add the arguments of ``specfm info`` to ``parser``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The sub-parser of ``specfm info``.

    """
    parser.add_argument("model", nargs="?", default=None, metavar="MODEL",
                        help="shipped model name or model folder (default: list the models)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--registry", default=None, metavar="DIR",
                        help="folder of models (default $SPECFM_MODEL_DIR or the shipped ones)")
    return parser


def _ranges(model):
    parts = []
    for name, (lo, hi) in model.label_ranges.items():
        unit = lo.unit.to_string() if lo.unit.to_string() else ""
        parts.append(f"{name} {lo.value:g} .. {hi.value:g} {unit}".rstrip())
    return "; ".join(parts) or "unknown"


def describe(model):
    """Return the lines that ``specfm info`` prints for ``model``.

    Parameters
    ----------
    model : `specfm.inference.Model`
        The model.

    Returns
    -------
    list of str

    """
    info = model.info()
    coverage = info["coverage_angstrom"]
    arch = ", ".join(f"{k}={v}" for k, v in info["architecture"].items())
    tok = info["tokenizer"]
    rows = [
        ("path", info["path"]),
        ("sha256", info["sha256"]),
        ("description", info["description"]),
        ("labels", ", ".join(info["labels"])),
        ("label ranges", _ranges(model)),
        ("coverage", "any wavelength" if coverage is None else ", ".join(
            f"{lo:.0f}-{hi:.0f} AA" for lo, hi in coverage) + " (vacuum)"),
        ("inputs", ", ".join(info["inputs"])),
        ("parameters", parameter_count_text(info["n_parameters"], info["n_members"])),
        ("architecture", arch),
        ("tokenizer", f"normalisation={tok['normalisation']}, max_tokens={tok['max_tokens']}, "
                      f"cap_mode={tok['cap_mode']}"),
        ("specfm version", info["specfm_version"]),
    ]
    width = max(len(k) for k, _ in rows) + 1
    return [info["name"]] + [f"  {k + ':':<{width}} {v}" for k, v in rows]


def run(args):
    """Run ``specfm info``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed arguments.

    Returns
    -------
    int
        0.

    """
    if args.model is None:
        names = available_models(args.registry)
        if args.json:
            print(json.dumps(names))
        else:
            print(f"Models in {registry_dir(args.registry)}: {', '.join(names) or 'none'}")
            print("`specfm info NAME` describes one.")
        return 0
    model = resolve_model(args.model, registry=args.registry)
    if args.json:
        print(json.dumps(model.info(), indent=2))
    else:
        print("\n".join(describe(model)))
    return 0
