"""Record in a shipped model's config.json the wavelength coverage of its training data.

``specfm train`` stores this coverage with every model pre-trained on synthetic sources
(`specfm.training.training_coverage` of its ``[[data.sources]]``). ``specfm-base`` v1 was
trained before it did, so its tokenizer coverage was empty ("any wavelength") and an axis
in nm labelled as Angstrom was read without a flag. This writes the same value the
training command now stores, from the configuration the model was trained with; the
weights and their sha256 are not touched. Run from the repository root::

    python tests/data_tools/set_model_coverage.py configs/specfm-base.toml \
        specfm/pretrained/models/specfm-base
"""

import argparse
import json
import pathlib
import tomllib

from specfm.training import training_coverage

__all__ = ["main"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="the TOML configuration the model was trained with")
    parser.add_argument("model", help="the model folder whose config.json to update")
    args = parser.parse_args(argv)
    with open(args.config, "rb") as f:
        config = tomllib.load(f)
    coverage = training_coverage(config["data"]["sources"])
    path = pathlib.Path(args.model) / "config.json"
    record = json.loads(path.read_text())
    record["model"]["tokenizer"]["coverage"] = coverage
    ending = "\n" if path.read_text().endswith("\n") else ""
    path.write_text(json.dumps(record, indent=2) + ending)
    print(f"{path}: tokenizer coverage {coverage} (vacuum Angstrom)")


if __name__ == "__main__":
    main()
