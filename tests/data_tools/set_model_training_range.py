"""Record in a shipped model's config.json the wavelength and S/N range of its training data.

``specfm train`` stores both with every model pre-trained on synthetic sources: the
coverage (`specfm.training.training_coverage`) and the top of the sources' S/N range as
the tokenizer's ``max_snr`` (`specfm.training.training_max_snr`; spectra of higher S/N
are read at it, with noise added). ``specfm-base`` v1 was trained before it stored the
coverage, and v1 to v3 before it stored ``max_snr``. This writes the values the training
command now stores, from the configuration the model was trained with (a ``max_snr`` in
its ``[prediction]`` section wins, as in training); the weights and their sha256 are not
touched. Run from the repository root::

    python tests/data_tools/set_model_training_range.py configs/specfm-base-v3.toml \
        specfm/pretrained/models/specfm-base
"""

import argparse
import json
import pathlib
import tomllib

from specfm.training import training_coverage, training_max_snr

__all__ = ["main"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="the TOML configuration the model was trained with")
    parser.add_argument("model", help="the model folder whose config.json to update")
    args = parser.parse_args(argv)
    with open(args.config, "rb") as f:
        config = tomllib.load(f)
    sources = config["data"]["sources"]
    coverage = training_coverage(sources)
    max_snr = config.get("prediction", {}).get("max_snr", training_max_snr(sources))
    max_snr = None if max_snr == "none" else max_snr
    path = pathlib.Path(args.model) / "config.json"
    record = json.loads(path.read_text())
    record["model"]["tokenizer"]["coverage"] = coverage
    record["model"]["tokenizer"]["max_snr"] = max_snr
    ending = "\n" if path.read_text().endswith("\n") else ""
    path.write_text(json.dumps(record, indent=2) + ending)
    print(f"{path}: tokenizer coverage {coverage} (vacuum Angstrom), max_snr {max_snr}")


if __name__ == "__main__":
    main()
