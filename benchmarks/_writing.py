"""Run metadata (command line, date, machine, model sha256) and the ``.rst`` tables that the
docs include, beside each ``.ecsv``."""

import datetime
import os
import pathlib
import platform
import shlex
import sys

import numpy as np

__all__ = ["fmt", "model_sha256", "run_metadata", "write_results", "write_rst"]

def model_sha256(path):
    """sha256 of a model folder's weights (from its ``config.json``), or None."""
    from specfm.model import read_model_config

    try:
        return read_model_config(path).get("weights", {}).get("sha256")
    except Exception:  # metadata only: never fail a benchmark over it
        return None


def run_metadata(models=None, **extra):
    """Command line, date, machine and model sha256s, for ``table.meta``."""
    import specfm

    meta = {
        "command": " ".join(shlex.quote(a) for a in [sys.executable.split("/")[-1],
                                                      *sys.argv]),
        "date_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "specfm_version": getattr(specfm, "__version__", "unknown"),
    }
    if models:
        meta["models"] = {name: {"path": str(path), "sha256": model_sha256(path)}
                          for name, path in models.items()}
    meta.update(extra)
    return meta


def fmt(value, spec):
    """Format a number for a table cell ('' for NaN/None)."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    return format(value, spec)


def write_rst(path, caption, header, rows, notes=()):
    """Write a ``.. table::`` simple table (cells are strings) for ``.. include::``."""
    cells = [tuple(header)] + [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    rule = "   " + "  ".join("=" * w for w in widths)
    with open(path, "w") as f:
        f.write(f".. table:: {caption}\n\n{rule}\n")
        for k, c in enumerate(cells):
            f.write("   " + "  ".join(x.ljust(w) for x, w in zip(c, widths, strict=True))
                    .rstrip() + "\n")
            if k == 0:
                f.write(rule + "\n")
        f.write(rule + "\n")
        if notes:
            f.write("\n")
            for note in notes:
                f.write(f"{note}\n\n")


def write_results(table, name, outdir, caption, header, rows, notes=()):
    """Write ``<outdir>/<name>.ecsv`` and ``<name>.rst``; return the folder."""
    outdir = pathlib.Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    table.write(outdir / f"{name}.ecsv", overwrite=True)
    write_rst(outdir / f"{name}.rst", caption, header, rows, notes)
    print(f"wrote {outdir / name}.ecsv and .rst")
    return outdir
