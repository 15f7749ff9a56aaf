"""Write docs/tutorials/tutorial.ipynb (no outputs: the docs build executes it).

Run from anywhere: ``python tests/data_tools/make_tutorial_notebook.py``.
"""

import pathlib

import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
cells = [
md("""# Tutorial: from spectra to labels, attention, new spectra and your own stars

This notebook runs on the example data that ships with specfm (one APOGEE apStar file and
20 Gaia XP stars with APOGEE labels) and the shipped models, so it works offline. It is
executed each time the documentation is built: every number below comes from that run.
Download it with the link at the top of the page and run it in Jupyter.

The steps: load spectra → predict labels → condition on a known label → see where the
model looks (attention) → generate and in-paint spectra → fine-tune on a small set."""),
code("""import astropy.units as u
import matplotlib.pyplot as plt
import numpy as np
from specutils import SpectralRegion

import specfm
from specfm.data import read_example

print(specfm.__version__, specfm.available_models())"""),
md("""## 1. Load spectra

Anything specutils reads works. Here: an APOGEE apStar file, read with specutils' own
reader, and a 2-D batch of 20 Gaia XP spectra whose `meta["labels"]` holds their
photometry and APOGEE labels."""),
code("""apogee = read_example("apStar-dr17-2M19485057+5005279.fits")
xp = read_example("gaia_xp_example.fits")
reference = xp.meta["labels"]
colours = reference[["bp_rp", "g_rp", "bp_g", "g_j", "j_h", "h_k", "j_k"]]
apogee.flux.shape, xp.flux.shape"""),
md("""## 2. Predict

`specfm.predict` chooses the shipped model whose wavelength coverage fits the spectrum and
says which it chose. The result is a `QTable` with units, uncertainties, a flag column and
the model's checksum in `meta`."""),
code("""table = specfm.predict(apogee)
print(table.meta["model_choice"])
table"""),
md("""For the XP stars we load `specfm-xp` explicitly and give the colours as extra input
tokens. A model shows a summary in Jupyter:"""),
code("""xp_model = specfm.load_pretrained("specfm-xp")
xp_model"""),
code("""pred = xp_model.predict(xp, inputs=colours)
pred["teff", "teff_err", "logg", "logg_err", "fe_h", "fe_h_err", "flag"][:5]"""),
code("""axes = specfm.plot_predicted_vs_reference(pred, reference, labels=["teff", "logg", "fe_h"])
plt.tight_layout()"""),
code("""ax = specfm.plot_kiel(pred, color="fe_h")"""),
md("""## 3. Condition on a known label

Any label can also be an input. Suppose asteroseismology gave us log g: we add it to the
inputs, with its uncertainty, and the model conditions the other labels on it. How much
that helps depends on how the model was trained: for `specfm-xp`, which saw known labels
in only 10% of its training rows, the effect is small (measured on 2000 stars on the
"Beyond labels" page); on these 20 stars it may go either way."""),
code("""seismic = colours.copy()
seismic["logg"] = reference["logg"]
seismic["logg_err"] = 0.02 * u.dex
given = xp_model.predict(xp, inputs=seismic, labels=["teff", "fe_h", "logg"])
for name in ("teff", "fe_h"):
    print(f"{name}: median uncertainty {np.median(pred[name + '_err'].value):.3g} -> "
          f"{np.median(given[name + '_err'].value):.3g} with log g given")"""),
md("""## 4. Where does the model look?

`Model.attention` returns, for each pixel, the weight each requested label puts on it;
`specfm.plot_attention` draws it with the lines of the label's element marked (here the
ASPCAP iron windows in the APOGEE H band)."""),
code("""base = specfm.load_pretrained("specfm-base")
weights = base.attention(apogee, label=["fe_h", "mg_fe"])
ax = specfm.plot_attention(weights, label="mg_fe", smooth=3)
ax.set_xlim(15700, 15800);"""),
md("""## 5. Generate and in-paint spectra

`Model.generate` writes a spectrum for any labels on any grid inside the model's coverage
(here: the labels predicted for the first XP star, and its colours). `Model.normalise`
shows the observed spectrum on the same, normalised scale."""),
code("""observed = xp_model.normalise(xp[0])
generated = xp_model.generate(pred[0], observed.spectral_axis, inputs=colours[0:1])
ax = specfm.plot_spectrum(observed, generated, labels=("Gaia XP", "generated"))"""),
md("""`Model.inpaint` hides a region (or fills masked pixels) and predicts it from the rest
of the spectrum. On spectra as coarse as Gaia XP it also ties the prediction to the flux
on both sides of the gap (`anchor_pixels="auto"` takes three known pixels per side; pass
`anchor_pixels=0` for the network's prediction alone). The result is on the scale of
`Model.normalise`, so it overlays the observed spectrum directly."""),
code("""filled = xp_model.inpaint(xp[0], regions=SpectralRegion(6000 * u.AA, 6800 * u.AA),
                          inputs=colours[0:1])
ax = specfm.plot_spectrum(observed, filled, labels=("Gaia XP", "in-painted"))"""),
md("""## 6. Fine-tune on a small set

`Model.finetune` takes spectra and a table of labels and returns a new model. Here, only
to show the mechanics in a few seconds: 15 of the example stars, 10 epochs; the other 5
are predicted by the fine-tuned copy. (Real fine-tuning wants ~100 stars; see the
benchmarks page for the 100-star test.)"""),
code("""train, test = np.arange(15), np.arange(15, 20)
tuned = xp_model.finetune(xp[train], reference[train], inputs=colours[train], epochs=10,
                          validation_fraction=0.0, learning_rate=1e-4, freeze=("encoder",))
after = tuned.predict(xp[test], inputs=colours[test], labels=["teff", "logg", "fe_h"])
after["apogee_teff"] = reference["teff"][test]
after["teff", "apogee_teff", "logg", "fe_h"]"""),
code("""import pathlib
import tempfile

path = tuned.save(pathlib.Path(tempfile.mkdtemp()) / "my-finetuned-model")
specfm.load(path)"""),
]
for number, cell in enumerate(cells):
    cell.id = f"cell-{number:02d}"  # stable ids: rewriting the notebook changes only what changed
nb = nbf.v4.new_notebook(cells=cells)
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nb.metadata["language_info"] = {"name": "python"}
OUT = pathlib.Path(__file__).resolve().parents[2] / "docs" / "tutorials" / "tutorial.ipynb"

if __name__ == "__main__":  # not on import (pytest imports this folder to collect doctests)
    nbf.write(nb, OUT)
