"""The ``specfm`` console command and its ``demo`` subcommand."""

import re

import pytest

from specfm.cli import SUBCOMMANDS, build_parser, main
from specfm.exceptions import EmptySpectrumError


@pytest.fixture(scope="module")
def demo_output():
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        status = main(["demo"])
    return status, buffer.getvalue()


def test_demo_succeeds(demo_output):
    status, _ = demo_output
    assert status == 0


def test_demo_mentions_both_examples(demo_output):
    _, text = demo_output
    assert "apStar-dr17-2M19485057+5005279.fits" in text
    assert "gaia_xp_example.fits" in text
    assert "APOGEE apStar" in text
    assert "Gaia XP" in text


def test_demo_reports_tokens_for_every_spectrum(demo_output):
    _, text = demo_output
    rows = [
        line.split()
        for line in text.splitlines()
        if re.match(r"\s*(APOGEE apStar|Gaia XP)\s+\d", line)
    ]
    # One row for the apStar spectrum, one for each of the 20 XP stars.
    assert len(rows) == 21
    for row in rows:
        pixels, tokens = int(row[3]), int(row[4])
        assert 0 < tokens <= pixels
    apstar = rows[0]
    assert int(apstar[3]) == 8575
    # Every wavelength range is inside the instrument's coverage (vacuum Angstrom).
    assert 15100 < float(apstar[-3]) < float(apstar[-2]) < 17000
    for row in rows[1:]:
        assert int(row[3]) == 343
        assert 3360 <= float(row[-3]) < float(row[-2]) <= 10200


def test_demo_total_line(demo_output):
    _, text = demo_output
    match = re.search(r"(\d+) spectra, (\d+) valid flux tokens", text)
    assert match is not None
    assert int(match.group(1)) == 21
    assert int(match.group(2)) > 0


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out


def test_unknown_command_is_an_error(capsys):
    with pytest.raises(SystemExit) as excinfo:
        main(["no-such-command"])
    assert excinfo.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_every_subcommand_has_help():
    parser = build_parser()
    text = parser.format_help()
    for name in SUBCOMMANDS:
        assert name in text


def test_input_errors_are_reported_without_traceback(monkeypatch, capsys):
    def setup_parser(parser):
        return parser

    def run(args):
        raise EmptySpectrumError("Spectrum 0 has no usable pixel; check its mask.")

    monkeypatch.setitem(SUBCOMMANDS, "broken", (setup_parser, run))
    assert main(["broken"]) == 1
    err = capsys.readouterr().err
    assert "specfm broken: error: Spectrum 0 has no usable pixel; check its mask." in err
    assert "Traceback" not in err
