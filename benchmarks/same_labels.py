"""Does a model with a new flux decoder give exactly its parent's labels?

A flux decoder (``extend_network(..., flux_decoder=True)``, trained with every other part
frozen) must leave the labels as they were. This compares a child model with its parent:

* **weights**: every tensor of the parent against the child's tensor of the same name
  (the child's own ``flux_decoder.*`` and ``flux_head.*`` are listed apart);
* **labels**: both models' `~specfm.inference.Model.predict` on the example spectra shipped
  with specfm (20 Gaia XP spectra with their colours, one APOGEE apStar spectrum), the
  largest absolute difference of every label and uncertainty column.

Usage::

    python benchmarks/same_labels.py PARENT CHILD --output-dir DIR

Writes ``DIR/same_labels.ecsv`` and ``.rst``.
"""

import argparse
import warnings

import _paths as where
import _through_api as api
import _writing as writer
import numpy as np

__all__ = ["compare_weights", "main"]


def compare_weights(parent, child):
    """``(n_compared, names that differ, names only in the child)`` of two networks."""
    import torch

    a, b = parent.state_dict(), child.state_dict()
    differ = [name for name, value in a.items()
              if name not in b or b[name].shape != value.shape or not torch.equal(b[name], value)]
    return len(a), differ, sorted(set(b) - set(a))


def _label_differences(parent, child, spectra, inputs=None):
    """Largest |child - parent| of every numeric column both tables have."""
    one, two = parent.predict(spectra, inputs=inputs), child.predict(spectra, inputs=inputs)
    out = {}
    for name in one.colnames:
        if name in two.colnames and np.issubdtype(np.asarray(one[name]).dtype, np.floating):
            d = np.abs(np.asarray(two[name], dtype=float) - np.asarray(one[name], dtype=float))
            out[name] = float(np.nanmax(d)) if np.isfinite(d).any() else 0.0
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parent", help="the parent model folder")
    parser.add_argument("child", help="the model folder with the new flux decoder")
    where.common_arguments(parser)
    args = parser.parse_args(argv)
    where.light_torch(args.threads)
    from astropy.table import Table

    import specfm
    import specfm.io

    parent = api.load_model(args.parent, name="parent")
    child = api.load_model(args.child, name="child")
    n, differ, new = compare_weights(parent.network, child.network)
    xp = specfm.io.read_gaia_xp_table(specfm.data.get_example_path("gaia_xp_example.fits"))
    apogee = specfm.data.read_example("apStar-dr17-2M19485057+5005279.fits")
    known = set(parent.network.vocabulary.names) & set(child.network.vocabulary.names)
    colours = {n: xp.colours[n] for n in xp.colours.colnames if n in known} or None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # coverage warnings of the other instrument
        rows = []
        for what, spectra, inputs in (
                ("20 Gaia XP examples", xp.spectra, colours),
                ("APOGEE apStar example", apogee, None)):
            diffs = _label_differences(parent, child, spectra, inputs)
            rows.append({"input": what, "n_columns": len(diffs),
                         "max_abs_difference": max(diffs.values()) if diffs else np.nan,
                         "columns_that_differ": ", ".join(k for k, v in diffs.items() if v)
                         or "none"})
    table = Table(rows=rows)
    table.meta.update(writer.run_metadata(models={"parent": args.parent, "child": args.child}),
                      n_weights_compared=n, weights_that_differ=differ,
                      weights_only_in_child=new)
    for r in rows:
        print(f"{r['input']:24s} {r['n_columns']:3d} columns, largest difference "
              f"{r['max_abs_difference']:.3g} (differ: {r['columns_that_differ']})")
    print(f"weights: {n} of the parent compared, {len(differ)} differ; "
          f"{len(new)} only in the child")
    writer.write_results(
        table, "same_labels", args.output_dir,
        "Labels of a model with a new flux decoder against its parent's",
        ("Input", "Columns", "Largest difference", "Columns that differ"),
        [(r["input"], str(r["n_columns"]), f"{r['max_abs_difference']:.3g}",
          r["columns_that_differ"]) for r in rows],
        notes=(f"Weights: {n} tensors of the parent compared with the child's, "
               f"{len(differ)} differ; {len(new)} are the child's alone "
               f"({', '.join(sorted({k.split('.')[0] for k in new})) or 'none'}). "
               "Columns: every numeric column of Model.predict's table (labels, "
               "uncertainties, ...).",))
    return table


if __name__ == "__main__":
    main()
