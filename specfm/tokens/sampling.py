"""Caps on the number of tokens per spectrum: reproducible sub-sampling and chunking."""

import numpy as np

__all__ = ["CAP_MODES", "cap_tokens"]

CAP_MODES = ("subsample", "chunk")
"""``"subsample"`` keeps a random subset; ``"chunk"`` splits all pixels into several rows."""


def cap_tokens(indices, max_tokens, mode="subsample", seed=0, spectrum_index=0):
    """Limit the pixels of one spectrum to ``max_tokens`` per row.

    Parameters
    ----------
    indices : numpy.ndarray of int
        Indices of the spectrum's valid pixels, ascending.
    max_tokens : int or None
        Cap per row; None means no cap.
    mode : {"subsample", "chunk"}
        ``"subsample"`` keeps ``max_tokens`` pixels drawn at random; ``"chunk"`` shuffles
        all pixels and splits them into as few rows as the cap allows, of near-equal size,
        so that every pixel is used once (the SpectraFM approach of averaging predictions
        over random chunks).
    seed : int
        Base seed. The draw depends only on ``(seed, spectrum_index)``, so a spectrum gets
        the same tokens whatever else is in the batch.
    spectrum_index : int
        Position of the spectrum in the input.

    Returns
    -------
    list of numpy.ndarray
        The pixel indices of each row, each ascending.

    Examples
    --------
    >>> import numpy as np
    >>> from specfm.tokens import cap_tokens
    >>> rows = cap_tokens(np.arange(10), 4, mode="chunk", seed=1)
    >>> [len(r) for r in rows]
    [4, 3, 3]
    >>> sorted(np.concatenate(rows).tolist()) == list(range(10))
    True

    """
    indices = np.asarray(indices)
    if max_tokens is None or indices.size <= max_tokens:
        return [indices]
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}.")
    if mode not in CAP_MODES:
        raise ValueError(f"Unknown cap mode {mode!r}; choose one of {', '.join(CAP_MODES)}.")
    rng = np.random.default_rng([int(seed), int(spectrum_index)])
    if mode == "subsample":
        return [np.sort(rng.choice(indices, size=max_tokens, replace=False))]
    shuffled = rng.permutation(indices)
    n_rows = -(-indices.size // max_tokens)
    return [np.sort(part) for part in np.array_split(shuffled, n_rows)]
