"""Write ``specfm/data/strong_lines.ecsv``: the small table of strong lines specfm marks.

Run from the repository root with the shared data beside it::

    python tests/data_tools/make_line_table.py

Two parts:

* H band (APOGEE): the centres and edges of the ASPCAP DR17 (``l31c``) element windows, from
  ``../shared/data/apogee/aspcap_l31c_element_windows_7514.npy``, an integer bit mask on the
  7514-pixel gap-free APOGEE grid (the apStar grid ``10**(4.179 + 6e-6 i)``, vacuum, with
  the pixels ``246:3274``, ``3585:6080`` and ``6344:8335`` kept). Bit ``k`` is the k-th
  element of ASPCAP's list ``C, CI, N, O, Na, Mg, Al, Si, P, S, K, Ca, Ti, TiII, V, Cr, Mn,
  Fe, Co, Ni, Cu, Ge, Ce, Rb, Y, Nd``; this order is confirmed by known lines (the Mg I
  triplet at 15745, 15753 and 15770 A falls in bit 5, the Na I pair at 16378/16393 A in
  bit 4, the K I lines at 15163/15168 A in bit 10 and the Ca I lines at 16141-16162 A in
  bit 11). Molecular windows (C, CI, N: CO and CN bands) are left out.
* Optical and near infrared: textbook strong lines (Balmer, Ca II H&K and triplet, Mg b,
  Na D, O I triplet, some Fe I), air wavelengths converted to vacuum with
  `specfm.wavelengths.air_to_vacuum`.
"""

import pathlib

import astropy.units as u
import numpy as np
from astropy.table import QTable

from specfm.wavelengths import air_to_vacuum

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "specfm" / "data" / "strong_lines.ecsv"

ASPCAP_ELEMENTS = ("C", "CI", "N", "O", "Na", "Mg", "Al", "Si", "P", "S", "K", "Ca", "Ti",
                   "TiII", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Ge", "Ce", "Rb", "Y", "Nd")
SKIP = {"C", "CI", "N"}  # molecular bands, thousands of pixels

# (element, species, air wavelength in Angstrom)
OPTICAL_AIR = [
    ("H", "H I", 6562.79), ("H", "H I", 4861.35), ("H", "H I", 4340.47), ("H", "H I", 4101.73),
    ("Ca", "Ca II", 3933.66), ("Ca", "Ca II", 3968.47),
    ("Ca", "Ca II", 8498.02), ("Ca", "Ca II", 8542.09), ("Ca", "Ca II", 8662.14),
    ("Mg", "Mg I", 5167.32), ("Mg", "Mg I", 5172.68), ("Mg", "Mg I", 5183.60),
    ("Mg", "Mg I", 8806.76),
    ("Na", "Na I", 5889.95), ("Na", "Na I", 5895.92),
    ("O", "O I", 7771.94), ("O", "O I", 7774.17), ("O", "O I", 7775.39),
    ("Fe", "Fe I", 4045.81), ("Fe", "Fe I", 4383.55), ("Fe", "Fe I", 4404.75),
    ("Fe", "Fe I", 5269.54), ("Fe", "Fe I", 5328.04), ("Fe", "Fe I", 5371.49),
    ("Fe", "Fe I", 8688.62),
]


def apogee_gap_free_wavelength():
    """Vacuum wavelengths (Angstrom) of the 7514-pixel gap-free APOGEE grid."""
    wave = 10 ** (4.179 + 6e-6 * np.arange(8575))
    return np.concatenate([wave[246:3274], wave[3585:6080], wave[6344:8335]])


def aspcap_rows():
    bits = np.load(SHARED / "apogee" / "aspcap_l31c_element_windows_7514.npy")
    wave = apogee_gap_free_wavelength()
    rows = []
    for k, element in enumerate(ASPCAP_ELEMENTS):
        if element in SKIP:
            continue
        idx = np.nonzero((bits >> k) & 1)[0]
        if idx.size == 0:
            continue
        for group in np.split(idx, np.nonzero(np.diff(idx) > 1)[0] + 1):
            lo, hi = wave[group[0]], wave[group[-1]]
            rows.append((element.replace("II", ""), element, 0.5 * (lo + hi), lo, hi,
                         "ASPCAP DR17 window"))
    return rows


def optical_rows():
    rows = []
    for element, species, air in OPTICAL_AIR:
        vac = float(air_to_vacuum(air))
        rows.append((element, species, vac, vac - 1.0, vac + 1.0, "strong line (air->vacuum)"))
    return rows


def main():
    rows = sorted(aspcap_rows() + optical_rows(), key=lambda r: r[2])
    table = QTable(rows=rows, names=("element", "species", "wavelength", "window_low",
                                     "window_high", "source"))
    for name in ("wavelength", "window_low", "window_high"):
        table[name] = np.round(np.asarray(table[name], float), 3) * u.AA
    table.meta["description"] = (
        "Strong lines that specfm marks on plots: ASPCAP DR17 element windows in the "
        "APOGEE H band and textbook optical lines. Vacuum wavelengths. Made by "
        "tests/data_tools/make_line_table.py.")
    table.write(OUT, format="ascii.ecsv", overwrite=True)
    print(f"{len(table)} lines written to {OUT}")


if __name__ == "__main__":
    main()
