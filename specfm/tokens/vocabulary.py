"""The vocabulary of non-spectral tokens: labels and photometric colours.

A flux pixel is described by its wavelength, so it needs no vocabulary. Every other token
(a known label such as log g, a photometric colour such as BP-RP) has a name, a unit and a
linear scaling that brings typical values to order unity. The model's configuration owns
its vocabulary, so that the same names always map to the same embeddings.
"""

import dataclasses
import enum

import astropy.units as u

__all__ = ["DEFAULT_VOCABULARY", "TokenKind", "TokenSpec", "Vocabulary"]


class TokenKind(enum.IntEnum):
    """What a token stands for.

    ``FLUX`` tokens are spectral pixels; ``COLOUR`` tokens are photometric colours (or
    magnitudes); ``LABEL`` tokens are stellar labels given as known input.
    """

    FLUX = 0
    COLOUR = 1
    LABEL = 2


@dataclasses.dataclass(frozen=True)
class TokenSpec:
    """One entry of the vocabulary.

    Parameters
    ----------
    name : str
        Column-style name, e.g. ``"teff"``, ``"logg"``, ``"bp_rp"``.
    kind : TokenKind
        ``TokenKind.LABEL`` or ``TokenKind.COLOUR``.
    unit : str
        The unit, as a string astropy understands (``"K"``, ``"dex(cm / s2)"``,
        ``"dex"``, ``"mag"``).
    offset, scale : float
        Values are given to the model as ``(value - offset) / scale``.
    description : str
        A few words for people.

    """

    name: str
    kind: TokenKind
    unit: str
    offset: float = 0.0
    scale: float = 1.0
    description: str = ""

    def __post_init__(self):
        if not self.name.isidentifier():
            raise ValueError(f"Token name {self.name!r} must be a valid Python identifier.")
        if self.kind == TokenKind.FLUX:
            raise ValueError("Flux pixels are not vocabulary entries; use LABEL or COLOUR.")
        if not self.scale > 0:
            raise ValueError(f"Token {self.name!r}: scale must be positive, got {self.scale}.")
        object.__setattr__(self, "kind", TokenKind(self.kind))
        u.Unit(self.unit)  # fail early on a unit astropy does not know

    @property
    def quantity_unit(self):
        """The unit as an `astropy.units.UnitBase`."""
        return u.Unit(self.unit)

    def to_dict(self):
        """Return a JSON-serialisable dict."""
        out = dataclasses.asdict(self)
        out["kind"] = self.kind.name
        return out

    @classmethod
    def from_dict(cls, data):
        """Build from the output of `to_dict`."""
        data = dict(data)
        data["kind"] = TokenKind[data["kind"]]
        return cls(**data)


class Vocabulary:
    """An ordered set of `TokenSpec` entries, looked up by name or by index.

    Parameters
    ----------
    specs : iterable of `TokenSpec`
        The entries; their order fixes their integer ids.

    Examples
    --------
    >>> from specfm.tokens import DEFAULT_VOCABULARY
    >>> DEFAULT_VOCABULARY.index("logg")
    1
    >>> DEFAULT_VOCABULARY["teff"].unit
    'K'

    """

    def __init__(self, specs):
        self._specs = tuple(specs)
        self._index = {}
        for i, spec in enumerate(self._specs):
            if spec.name in self._index:
                raise ValueError(f"Token name {spec.name!r} appears twice in the vocabulary.")
            self._index[spec.name] = i

    def __len__(self):
        return len(self._specs)

    def __iter__(self):
        return iter(self._specs)

    def __contains__(self, name):
        return name in self._index

    def __getitem__(self, key):
        if isinstance(key, str):
            return self._specs[self.index(key)]
        return self._specs[key]

    def __eq__(self, other):
        return isinstance(other, Vocabulary) and self._specs == other._specs

    def __hash__(self):
        return hash(self._specs)

    def __repr__(self):
        return f"Vocabulary({', '.join(self.names)})"

    @property
    def names(self):
        """Tuple of the entries' names, in id order."""
        return tuple(spec.name for spec in self._specs)

    def labels(self):
        """Names of the ``LABEL`` entries."""
        return tuple(s.name for s in self._specs if s.kind == TokenKind.LABEL)

    def colours(self):
        """Names of the ``COLOUR`` entries."""
        return tuple(s.name for s in self._specs if s.kind == TokenKind.COLOUR)

    def index(self, name):
        """Return the integer id of ``name``.

        Raises
        ------
        KeyError
            If ``name`` is not in the vocabulary; the message lists what is.

        """
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(
                f"{name!r} is not in the model's vocabulary. Known names: "
                f"{', '.join(self.names)}. Add it with Vocabulary.extend() when fine-tuning."
            ) from None

    def extend(self, specs):
        """Return a new vocabulary with ``specs`` appended (existing ids unchanged)."""
        return Vocabulary(self._specs + tuple(specs))

    def to_list(self):
        """Return a JSON-serialisable list of dicts."""
        return [spec.to_dict() for spec in self._specs]

    @classmethod
    def from_list(cls, data):
        """Build from the output of `to_list`."""
        return cls(TokenSpec.from_dict(d) for d in data)


_DEX = "dex"
_LOGG = "dex(cm / s2)"

DEFAULT_VOCABULARY = Vocabulary(
    [
        TokenSpec("teff", TokenKind.LABEL, "K", 5000.0, 1000.0, "effective temperature"),
        TokenSpec("logg", TokenKind.LABEL, _LOGG, 3.0, 1.5, "surface gravity"),
        TokenSpec("fe_h", TokenKind.LABEL, _DEX, -0.5, 0.5, "iron abundance [Fe/H]"),
        TokenSpec("m_h", TokenKind.LABEL, _DEX, -0.5, 0.5, "overall metallicity [M/H]"),
        TokenSpec("alpha_m", TokenKind.LABEL, _DEX, 0.1, 0.15, "alpha enhancement [alpha/M]"),
        TokenSpec("mg_fe", TokenKind.LABEL, _DEX, 0.1, 0.15, "magnesium [Mg/Fe]"),
        TokenSpec("o_fe", TokenKind.LABEL, _DEX, 0.1, 0.15, "oxygen [O/Fe]"),
        TokenSpec("c_fe", TokenKind.LABEL, _DEX, 0.0, 0.2, "carbon [C/Fe]"),
        TokenSpec("n_fe", TokenKind.LABEL, _DEX, 0.1, 0.2, "nitrogen [N/Fe]"),
        TokenSpec("vmicro", TokenKind.LABEL, "km / s", 1.5, 0.5, "microturbulence"),
        TokenSpec("vmacro", TokenKind.LABEL, "km / s", 10.0, 10.0, "macroturbulence"),
        TokenSpec("vsini", TokenKind.LABEL, "km / s", 10.0, 10.0, "projected rotation"),
        TokenSpec("bp_rp", TokenKind.COLOUR, "mag", 1.2, 0.5, "Gaia BP - RP"),
        TokenSpec("g_rp", TokenKind.COLOUR, "mag", 0.6, 0.3, "Gaia G - RP"),
        TokenSpec("bp_g", TokenKind.COLOUR, "mag", 0.6, 0.3, "Gaia BP - G"),
        TokenSpec("g_j", TokenKind.COLOUR, "mag", 1.8, 0.8, "Gaia G - 2MASS J"),
        TokenSpec("j_h", TokenKind.COLOUR, "mag", 0.6, 0.3, "2MASS J - H"),
        TokenSpec("h_k", TokenKind.COLOUR, "mag", 0.15, 0.15, "2MASS H - Ks"),
        TokenSpec("j_k", TokenKind.COLOUR, "mag", 0.75, 0.4, "2MASS J - Ks"),
    ]
)
"""The vocabulary of non-spectral tokens used when a model does not define its own."""
