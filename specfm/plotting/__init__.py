"""Matplotlib plots of specfm results.

Every function draws on an `~matplotlib.axes.Axes` (a new figure when none is given) and
returns the Axes; none calls ``plt.show()``.

* `plot_attention`: a label's attention over the spectrum, with its element's lines;
* `plot_spectrum`: an observed spectrum with a generated or in-painted one overlaid;
* `plot_predicted_vs_reference`: predictions against reference labels, with residuals;
* `plot_kiel`: a Kiel diagram (Teff-log g) of a prediction table.
"""

from .labels import plot_kiel, plot_predicted_vs_reference
from .spectra import plot_attention, plot_spectrum

__all__ = ["plot_attention", "plot_kiel", "plot_predicted_vs_reference", "plot_spectrum"]
