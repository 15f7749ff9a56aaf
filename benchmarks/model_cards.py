"""Write the facts of each shipped model's card from its own config.json.

Reads ``specfm/pretrained/models/<name>/config.json`` (architecture, tokenizer, provenance:
training data, label ranges, outputs, training steps) and writes
``benchmarks/results/model_card_<name>.rst``, included by ``docs/models.rst``, so that the
cards cannot drift from the weights that ship.

Usage::

    python benchmarks/model_cards.py
"""

import argparse
import json

from _paths import MODELS, RESULTS
from _writing import write_rst

from specfm.model import parameter_count_text

__all__ = ["main"]


def _fmt_range(name, low_high):
    low, high = low_high
    if name == "teff":
        return f"{low:.0f} to {high:.0f} K"
    return f"{low:+.2f} to {high:+.2f}"


def coverage_text(config):
    """Wavelength coverage: the model's own, else the ranges of its training instruments."""
    from specfm.model import config_coverage

    ranges = config_coverage(config)
    if ranges:
        return ", ".join(f"{lo:.0f}-{hi:.0f} Angstrom (vacuum)" for lo, hi in ranges)
    sources = config.get("provenance", {}).get("training_data", {}).get("sources", [])
    names = sorted({name for source in sources for name in source["instruments"]})
    if not names:
        return "not recorded"
    from specfm.synth import get_instrument

    parts = []
    for name in names:
        instrument = get_instrument(name)
        wave = instrument.wavelength.to_value("Angstrom")
        parts.append(f"{name} {wave.min():.0f}-{wave.max():.0f} ({instrument.medium})")
    return "Angstrom, as trained: " + ", ".join(parts)


def _loss_text(prov):
    loss = prov.get("best_val_loss")
    return f"{loss:.4f}" if loss is not None else "n/a"


def _training_rows(prov):
    """Steps and best validation loss: the model's, or each ensemble member's."""
    members = [m["provenance"] for m in prov.get("members", [])]
    if not members:
        return [("Training steps", str(prov.get("steps"))),
                ("Best validation loss", _loss_text(prov))]
    return [("Ensemble members", f"{len(members)} (sha256 "
                                 + ", ".join(m["sha256"][:12] for m in prov["members"]) + ")"),
            ("Training steps", "; ".join(f"{m.get('steps')} (seed "
                                         f"{m.get('trainer', {}).get('seed')})"
                                         for m in members)),
            ("Best validation loss", "; ".join(_loss_text(m) for m in members))]


def card_rows(config):
    model = config["model"]
    prov = config.get("provenance", {})
    tokenizer = model.get("tokenizer") or {}
    data = prov.get("training_data", {})
    rows = [
        ("Description", prov.get("description", "")),
        ("Outputs", ", ".join(prov.get("outputs", []))),
        ("Weights sha256", config["weights"]["sha256"]),
        ("Parameters", parameter_count_text(
            config["weights"]["n_parameters"],
            config.get("ensemble", {}).get("n_members", 1))),
        ("Architecture", f"d_model {model['d_model']}, {model['n_heads']} heads, "
                         f"{model['n_latents']} latents, {model['n_latent_layers']} latent "
                         f"layers, {model['n_decoder_layers']} decoder layer(s)"),
        ("Wavelength coverage", coverage_text(config)),
        ("Normalisation", json.dumps(tokenizer.get("normalisation", {}).get("name"))),
        ("Prediction tokens", f"max_tokens {tokenizer.get('max_tokens')}, cap_mode "
                              f"{tokenizer.get('cap_mode')!r}"),
        ("S/N ceiling", "none" if tokenizer.get("max_snr") is None else
         f"max_snr {tokenizer['max_snr']:g}: spectra of higher S/N are read at it, with "
         "noise added"),
        ("Training data", f"{data.get('kind', '?')}: {data.get('n_train_rows', '?')} training "
                          f"rows, {data.get('n_validation_rows', '?')} validation rows"),
    ]
    for source in data.get("sources", []):
        rows.append(("  source", f"{source['emulator']} x {', '.join(source['instruments'])}, "
                                 f"{source['n_stars']} stars, S/N {source.get('snr_range')}"))
    for name, rng in prov.get("label_ranges", {}).items():
        rows.append((f"Range of {name}", _fmt_range(name, rng)))
    rows += _training_rows(prov)
    rows += [
        ("Created", str(prov.get("created", ""))[:19]),
        ("specfm version", str(config.get("specfm_version", ""))),
        ("PyTorch version", str(config.get("torch_version", ""))),
        ("Credits", prov.get("credits", "")),
    ]
    if prov.get("parent"):
        rows.append(("Fine-tuned from", prov["parent"].get("description", "")[:60] + "…"))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=str(MODELS), help="folder of shipped models")
    args = parser.parse_args(argv)
    from pathlib import Path

    for folder in sorted(Path(args.models).iterdir()):
        if not (folder / "config.json").exists():
            continue
        config = json.loads((folder / "config.json").read_text())
        rows = card_rows(config)
        write_rst(RESULTS / f"model_card_{folder.name}.rst", f"Model card: {folder.name}",
                  ("Field", "Value"), rows)
        print(f"{folder.name}:")
        for key, value in rows:
            print(f"  {key:22s} {value}")


if __name__ == "__main__":
    main()
