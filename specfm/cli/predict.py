"""Predict stellar labels for every spectrum in many files, into one table (resumable).

``specfm predict FILES_OR_GLOBS --format FMT --model NAME -o out.ecsv`` reads each file
with specutils, predicts its spectra and writes one row per spectrum (columns ``file``,
``index``, then the labels) to ``out.ecsv``, ``.fits`` or ``.parquet``, atomically, every
few files and at the end. Running the same command again skips the files already in the
output. Files that cannot be read are reported and skipped (exit status 1 with
``--strict``). ``--workers N`` or ``--scheduler ADDRESS`` spread the files over Dask
workers. See `specfm.inference.predict_files`.
"""

import sys

import astropy.units as u

from ..inference.files import predict_files
from ..model.precision import PRECISIONS

__all__ = ["run", "setup_parser", "summary_lines"]

INTERRUPTED = 130
"""Exit status after Ctrl-C (128 + SIGINT), as shells report it."""


def setup_parser(parser):
    """Add the arguments of ``specfm predict`` to ``parser``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The sub-parser of ``specfm predict``.

    """
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="spectrum files or glob patterns (quote them: 'spectra/*.fits')")
    parser.add_argument("-o", "--output", metavar="OUT",
                        help="output table: .ecsv, .fits or .parquet (default: print the table)")
    parser.add_argument("--format", metavar="FMT", default=None,
                        help="specutils format of the files, e.g. 'APOGEE apStar' or 'Gaia XP "
                             "sampled' (default: let specutils identify each file)")
    parser.add_argument("--model", metavar="NAME", default=None,
                        help="shipped model name or model folder (default: the output's model "
                             "when resuming, else chosen by wavelength coverage)")
    parser.add_argument("--labels", metavar="L1,L2", default=None,
                        help="comma-separated labels to predict (default: all the model's)")
    parser.add_argument("--batch-size", type=int, default=64, metavar="N",
                        help="spectra per batch within a file (default 64)")
    parser.add_argument("--rows-per-read", type=int, default=8192, metavar="N",
                        help="spectra read at a time from a Gaia XP sampled FITS table, so "
                             "that memory does not grow with its size (default 8192)")
    parser.add_argument("--method", choices=("one_pass", "chunked"), default="one_pass",
                        help="inference method (default one_pass)")
    parser.add_argument("--precision", choices=PRECISIONS, default="float32",
                        help="the network's arithmetic: float32 (default) or bfloat16 "
                             "autocast, faster on CPUs and GPUs with bfloat16 units")
    parser.add_argument("--inputs", metavar="TABLE", default=None,
                        help="table of colours or known labels (columns named like the "
                             "model's inputs, e.g. bp_rp, g_rp) with a source_id or file "
                             "(and index) column to match them to the spectra")
    frame = parser.add_mutually_exclusive_group()
    frame.add_argument("--radial-velocity", type=float, default=None, metavar="KMS",
                       help="radial velocity (km/s) to remove from every spectrum, for "
                            "observed-frame files")
    frame.add_argument("--velocity-from-header", default=None, metavar="KEY",
                       help="remove the radial velocity in each file's header keyword KEY "
                            "(km/s), e.g. VRAD for APOGEE apVisit files")
    parser.add_argument("--device", default=None, help="torch device, e.g. cuda (default cpu)")
    parser.add_argument("--registry", default=None, metavar="DIR",
                        help="folder of models (default $SPECFM_MODEL_DIR or the shipped ones)")
    dask = parser.add_mutually_exclusive_group()
    dask.add_argument("--workers", type=int, default=None, metavar="N",
                      help="run on a local Dask cluster of N worker processes")
    dask.add_argument("--scheduler", default=None, metavar="ADDRESS",
                      help="run on the Dask cluster at ADDRESS, e.g. tcp://host:8786")
    parser.add_argument("--files-per-task", type=int, default=None, metavar="N",
                        help="files per Dask task (default: about four tasks per worker)")
    parser.add_argument("--flush-every", type=int, default=20, metavar="N",
                        help="write the output after every N finished files (default 20)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing output instead of resuming it")
    parser.add_argument("--strict", action="store_true",
                        help="exit with status 1 if any file failed")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def summary_lines(summary, output=None):
    """Return the lines of the end-of-run summary.

    Parameters
    ----------
    summary : dict
        ``table.meta["summary"]`` of `specfm.inference.predict_files`.
    output : str, optional
        The output file, to name it.

    Returns
    -------
    list of str

    """
    failed = summary["failed"]
    where = f" in {output}" if output else ""
    lines = [f"specfm predict: {summary['done']} files done ({summary['rows']} spectra), "
             f"{summary['skipped']} skipped (already{where}), {len(failed)} failed"]
    lines += [f"  failed: {path}: {reason}" for path, reason in failed.items()]
    return lines


def run(args):
    """Run ``specfm predict``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed arguments.

    Returns
    -------
    int
        0; 1 when no file could be predicted (nothing is printed then), or with
        ``--strict`` when any file failed; 130 after Ctrl-C (the output then holds every
        file finished before it).

    """
    client = None
    if args.scheduler:
        from ..inference.distributed import import_distributed

        client = import_distributed().Client(args.scheduler)
    labels = [s.strip() for s in args.labels.split(",") if s.strip()] if args.labels else None
    extra = {}
    if args.radial_velocity is not None:
        extra["radial_velocity"] = args.radial_velocity * u.km / u.s
    elif args.velocity_from_header:
        extra["radial_velocity"] = args.velocity_from_header
    try:
        table = predict_files(
            args.files, model=args.model, format=args.format, output=args.output,
            client=client, n_workers=args.workers, batch_size=args.batch_size, labels=labels,
            method=args.method, precision=args.precision, overwrite=args.overwrite,
            progress=False if args.no_progress else None, flush_every=args.flush_every,
            files_per_task=args.files_per_task, registry=args.registry, device=args.device,
            inputs=args.inputs, rows_per_read=args.rows_per_read,
            keep_rows=args.output is None, **extra,
        )
    except KeyboardInterrupt:
        where = args.output or "nothing (no --output was given)"
        print(f"\nspecfm predict: interrupted. Written: {where}, with every file finished "
              "so far; run the same command again to resume.", file=sys.stderr)
        return INTERRUPTED
    finally:
        if client is not None:
            client.close()
    summary = table.meta.pop("summary")
    nothing = summary["done"] == 0 and summary["skipped"] == 0
    if args.output is None and not nothing:
        print("\n".join(table.pformat(max_lines=-1, max_width=-1)))
    print("\n".join(summary_lines(summary, args.output)), file=sys.stderr)
    if nothing:
        print("specfm predict: no file could be predicted; nothing was written.",
              file=sys.stderr)
        return 1
    return 1 if args.strict and summary["failed"] else 0
