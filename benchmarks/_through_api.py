"""specfm predictions for the benchmarks, through the user API
(`specfm.inference.Model.predict`), as arrays in K / dex."""

import os
import time

from _xp_split import label_arrays

__all__ = ["load_model", "predict", "predict_validation"]

def load_model(path_or_network, name=None):
    """A `specfm.inference.Model` from a model folder, or from an in-memory network."""
    from specfm.inference import Model, load

    if isinstance(path_or_network, str | os.PathLike):
        return load(path_or_network, name=name)
    return Model(path_or_network, name=name)


def predict(model, spectra, names, inputs=None, batch_size=64, max_tokens="model",
            precision="float32", max_snr="model"):
    """``({name: values}, {name: errors})`` in K / dex, NaN where the row is masked.

    Through the user API, `specfm.inference.Model.predict` (one pass, seed 0; ``max_tokens``
    as there: the model's chunk size, or None for every pixel in one row; ``precision`` and
    ``max_snr`` as there).
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # coverage / range warnings: flags are in the table
        table = model.predict(spectra, labels=list(names), inputs=inputs,
                              batch_size=batch_size, progress=False, max_tokens=max_tokens,
                              precision=precision, max_snr=max_snr)
    values = label_arrays(table, names)
    errors = label_arrays(table, [f"{n}_err" for n in names])
    return values, {n: errors[f"{n}_err"] for n in names}


def predict_validation(args, val, names):
    """Load ``args.model`` (a specfm-xp folder) and predict ``names`` for the rows ``val``.

    ``val`` is what `read_xp` returns; the colours go in as input tokens, as specfm-xp
    was trained. Prints the time taken and returns what `predict` returns.
    """
    t0 = time.perf_counter()
    model = load_model(args.model, name="specfm-xp")
    values, errors = predict(model, val.spectra, names, inputs=val.colours,
                             batch_size=args.batch_size)
    print(f"specfm-xp: {len(val.labels)} spectra predicted in "
          f"{time.perf_counter() - t0:.1f} s")
    return values, errors
