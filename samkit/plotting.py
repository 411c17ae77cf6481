"""How samkit draws a figure's face: the header that names the devices and weights kinds, the one
random-weights banner, the canvas, the rule that figures draw tables, never result rows, and the
one rule that every title, warning and label stays inside the figure's frame.

A foundation under every figure: the protocols' own figures (in their `samkit.eval` modules) and
the generic ones of `samkit.results.figures` are drawn on `new_figure` with a `figure_header`, so
they all say, at their top, which device(s) their numbers come from (``"NVIDIA H100 80GB HBM3
(cuda:0)"``, ``"cpu: x86_64 x2"``, see `samkit.wording.device_label`) and which weights kind(s);
where any number comes from random weights, a red banner says
`samkit.wording.RANDOM_WEIGHTS_WARNING`. The overlays (`samkit.overlays`) and the demo's figure
put their title and warning on top with `title_inches` / `add_title`.

Text that could be wider than its room (a title, a warning, a long model name) is wrapped by
`fit_text` (the one wrapping rule, measured with matplotlib's font metrics): it draws in lines at
most a given number of inches wide, while ``get_text()`` still gives the whole text, so a search
for a warning or a name finds it whole. `wrap_lines` gives the same lines as a list, to size a
figure before drawing it, or to wrap a tick label with newlines.

Figures are built without pyplot (no global figure state, safe under the Agg backend and in loops;
Jupyter's inline backend still displays them) and never call ``plt.show``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from samkit.wording import RANDOM_WEIGHTS_WARNING, devices_in, has_random_weights, weights_kinds_in

__all__ = [
    "MEMORY_METHODS",
    "MARGIN",
    "is_rows",
    "refuse_rows",
    "text_inches",
    "text_room",
    "wrap_lines",
    "wrapped",
    "lines_inches",
    "fit_text",
    "column_inches",
    "fit_title",
    "title_inches",
    "add_title",
    "figure_header",
    "new_figure",
    "figure_text",
]

#: how each peak-memory method measures, as the figures' captions say it
MEMORY_METHODS: dict[str, str] = {
    "cuda_max_memory_allocated": "CUDA allocator peak (max_memory_allocated; no CUDA context or cache)",
    "cpu_process_peak_rss": "whole-process peak RSS (includes weights, Python and libraries)",
    "unavailable": "not measurable on this platform",
}

#: inches kept free between a figure-wide text (title, header line, banner) and the figure's sides
MARGIN = 0.15

# Widths are measured without hinting; text drawn with hinting (Agg) at a low dpi is up to ~10%
# wider, so lines are wrapped to this fraction of their room.
_HINTING_SLACK = 0.9
# the height of one line of text, in font sizes (matplotlib's line spacing 1.2 and the font's extent)
_LINE_HEIGHT = 1.28


def is_rows(data: Any) -> bool:
    """True for result rows (long format, a ``protocol`` column) rather than a table made from them."""
    import pandas as pd

    return isinstance(data, pd.DataFrame) and "protocol" in data.columns


def refuse_rows(data: Any, figure: str, table: str) -> None:
    """Raise TypeError when ``data`` is result rows rather than a table: ``figure`` (its name)
    draws the output of ``table`` (the table function's dotted name), which the message names."""
    if is_rows(data):
        raise TypeError(
            f"{figure} draws tables, not result rows (this frame has a 'protocol' "
            f"column): call {table}(rows) first and pass its output"
        )


# --------------------------------------------------------------------------------------- wrapping


def _font(font: Any = None, fontsize: float | None = None, bold: bool = False) -> Any:
    """``font`` (a `FontProperties`), or the default font at ``fontsize`` (bold or not)."""
    from matplotlib.font_manager import FontProperties

    if font is not None:
        return font
    return FontProperties(size=fontsize, weight="bold" if bold else "normal")


def text_inches(text: str, fontsize: float | None = None, *, bold: bool = False, font: Any = None) -> float:
    """The width in inches of the widest line of ``text`` at ``fontsize`` points (or in ``font``, a
    `matplotlib.font_manager.FontProperties`), as matplotlib measures it (unhinted)."""
    from matplotlib.textpath import text_to_path

    prop = _font(font, fontsize, bold)
    widths = [text_to_path.get_text_width_height_descent(line, prop, ismath=False)[0] for line in text.split("\n")]
    return max(widths, default=0.0) / 72


def text_room(text: str, fontsize: float | None = None, *, bold: bool = False, font: Any = None) -> float:
    """The inches to keep for ``text`` (its widest line) so that it fits as drawn at any dpi:
    `text_inches` with room for hinting. A margin that holds labels is measured with this."""
    return text_inches(text, fontsize, bold=bold, font=font) / _HINTING_SLACK


def _split_word(word: str, fits: Any) -> list[str]:
    """A word too wide for a line in pieces that fit, cut after ``_ . / - , :`` where it can."""
    pieces: list[str] = []
    while word:
        cut = 1
        for end in range(1, len(word) + 1):
            if not fits(word[:end]):
                break
            cut = end
        if cut < len(word):
            soft = max((i + 1 for i, c in enumerate(word[:cut]) if c in "_./-,:"), default=0)
            cut = soft if soft >= cut // 2 else cut
        pieces.append(word[:cut])
        word = word[cut:]
    return pieces


def wrap_lines(
    text: str, width: float, fontsize: float | None = None, *, bold: bool = False, font: Any = None
) -> list[str]:
    """``text`` in lines at most ``width`` inches wide at ``fontsize`` points (or in ``font``).

    The one wrapping rule of samkit's figures: words are kept whole where they fit (a word wider
    than ``width``, such as a long model name, is cut after ``_``, ``.``, ``/``, ``-``, ``,`` or ``:``
    where it can), the text's own newlines are kept, and widths are measured with matplotlib's
    font metrics with room for hinting at low dpi.
    """
    prop = _font(font, fontsize, bold)
    limit = max(width, 0.1) * _HINTING_SLACK

    def fits(line: str) -> bool:
        return text_inches(line, font=prop) <= limit

    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if fits(candidate):
                line = candidate
                continue
            if line.strip():
                lines.append(line.rstrip())
            if fits(word):
                line = word
            else:
                *full, line = _split_word(word, fits)
                lines += full
        lines.append(line.rstrip())
    return lines


def wrapped(text: str, width: float, fontsize: float | None = None, *, bold: bool = False, font: Any = None) -> str:
    """`wrap_lines` joined by newlines (for a tick label or a legend entry that is set as text)."""
    return "\n".join(wrap_lines(text, width, fontsize, bold=bold, font=font))


def lines_inches(lines: int, fontsize: float) -> float:
    """The height in inches of ``lines`` lines of text at ``fontsize`` points."""
    return lines * _LINE_HEIGHT * fontsize / 72


class _Fitted:
    """A text artist drawn in the lines `fit_text` chose (``_samkit_lines``: (text, wrapped)),
    while ``get_text()`` keeps the whole text. Its size (``get_window_extent``, tight layout,
    legends) is that of the wrapped lines; setting another text draws the new text unwrapped."""

    _samkit_lines: tuple[str, str] | None = None

    def _get_layout(self, renderer: Any) -> Any:
        lines = self._samkit_lines
        if lines is None or lines[0] != self._text:  # type: ignore[attr-defined]
            return super()._get_layout(renderer)  # type: ignore[misc]
        text, wrap = self._text, self._wrap  # type: ignore[attr-defined]
        self._text, self._wrap = lines[1], False
        try:
            return super()._get_layout(renderer)  # type: ignore[misc]
        finally:
            self._text, self._wrap = text, wrap


def _fitted_class(cls: type) -> type:
    """The `_Fitted` subclass of a text class (made once, importable from this module for pickling)."""
    if issubclass(cls, _Fitted):
        return cls
    name = f"_Fitted{cls.__name__}"
    made = globals().get(name)
    if made is None or made.__bases__[1] is not cls:
        made = type(name, (_Fitted, cls), {"__module__": __name__, "__qualname__": name})
        globals()[name] = made
    return made


def __getattr__(name: str) -> Any:
    """``_FittedText`` / ``_FittedAnnotation`` (made on first use): so a pickled figure loads."""
    if name.startswith("_Fitted"):
        import matplotlib.text

        base = getattr(matplotlib.text, name[len("_Fitted") :], None)
        if isinstance(base, type):
            return _fitted_class(base)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def fit_text(artist: Any, width: float) -> int:
    """Draw the text artist ``artist`` (a figure text or suptitle, an axes title, an annotation, a
    legend entry) in `wrap_lines` of at most ``width`` inches in its own font; ``get_text()``
    still gives the whole text. Returns the number of lines."""
    text = artist.get_text()
    lines = wrap_lines(text, width, font=artist.get_fontproperties())
    if len(lines) > 1 or lines[0] != text:
        artist.__class__ = _fitted_class(type(artist))
        artist._samkit_lines = (text, "\n".join(lines))
    return len(lines)


def column_inches(ax: Any) -> float:
    """The width in inches of the figure column that ``ax`` stands in (its grid cell's share of the
    figure, not the axes, which a fixed aspect may shrink): the room of its title."""
    fig = ax.get_figure()
    spec = ax.get_subplotspec() if hasattr(ax, "get_subplotspec") else None
    if spec is None:
        return ax.get_position().width * fig.get_figwidth()
    ncols = spec.get_gridspec().ncols
    first, last = spec.colspan.start, spec.colspan.stop
    return fig.get_figwidth() * (last - first) / ncols


def fit_title(ax: Any, title: str, *, fontsize: float = 8.0, pad: float = 0.1, **kwargs: Any) -> int:
    """``ax.set_title(title)`` wrapped to its figure column (`column_inches`, less ``pad`` inches at
    each side); returns its number of lines."""
    artist = ax.set_title(title, fontsize=fontsize, **kwargs)
    return fit_text(artist, column_inches(ax) - 2 * pad)


def title_inches(text: str, width: float, fontsize: float, *, bold: bool = False) -> float:
    """The inches that `add_title` takes at the top of a figure ``width`` inches wide."""
    lines = wrap_lines(text, width - 2 * MARGIN, fontsize, bold=bold)
    return 0.1 + lines_inches(len(lines), fontsize) + 0.1


def add_title(fig: Any, text: str, *, fontsize: float, color: str = "black", bold: bool = False) -> float:
    """``fig.suptitle(text)`` at the figure's top, wrapped to its width (less `MARGIN` each side);
    returns the inches it takes (`title_inches`), for ``fig.tight_layout(rect=...)`` to keep the
    axes below it (the suptitle itself is left out of the tight layout)."""
    height = fig.get_figheight()
    artist = fig.suptitle(
        text,
        x=0.5,
        y=1 - 0.1 / height,
        va="top",
        ha="center",
        fontsize=fontsize,
        color=color,
        fontweight="bold" if bold else "normal",
        multialignment="center",
    )
    artist.set_in_layout(False)
    fit_text(artist, fig.get_figwidth() - 2 * MARGIN)
    return title_inches(text, fig.get_figwidth(), fontsize, bold=bold)


# ----------------------------------------------------------------------------------------- header

_TITLE_FONT = 12.0
_LINE_FONT = 8.5
_BANNER_FONT = 10.0
_BANNER_PAD = 0.3  # of the font size: the banner's box around its text


def _header_room(kind: str, width: float) -> float:
    """The width in inches that a header text of ``kind`` may take on a figure ``width`` inches wide."""
    room = width - 2 * MARGIN
    if kind == "banner":
        room -= 2 * (_BANNER_PAD * _BANNER_FONT / 72 + 0.02)
    return room


def figure_header(
    table: Any, title: str, *, extra: Sequence[str] = (), width: float = 8.0
) -> list[tuple[str, str, float]]:
    """The header lines of a figure drawn from ``table``: (kind, text, inches) with kind
    ``title`` / ``line`` / ``banner``: the title, the devices and weights kinds, the ``extra``
    lines, and the random-weights banner where any row has random weights. ``inches`` is the
    height the text takes once wrapped to a figure ``width`` inches wide (see `new_figure`)."""
    devices = devices_in(table) or ["not recorded"]
    kinds = weights_kinds_in(table) or ["not recorded"]
    texts = [("title", title), ("line", f"device: {', '.join(devices)}  |  weights: {', '.join(kinds)}")]
    texts += [("line", text) for text in extra]
    if has_random_weights(table):
        texts.append(("banner", RANDOM_WEIGHTS_WARNING))
    fonts = {"title": (_TITLE_FONT, True), "line": (_LINE_FONT, False), "banner": (_BANNER_FONT, True)}
    lines = []
    for kind, text in texts:
        size, bold = fonts[kind]
        n = len(wrap_lines(text, _header_room(kind, width), size, bold=bold))
        if kind == "title":
            inches = 0.34 + (n - 1) * lines_inches(1, size)
        elif kind == "line":
            inches = 0.06 + n * lines_inches(1, size)
        else:
            inches = 0.26 + 0.2 * n
        lines.append((kind, text, inches))
    return lines


def new_figure(
    width: float,
    body: float,
    header: list[tuple[str, str, float]],
    *,
    left: float = 0.8,
    bottom: float = 0.7,
    right: float = 0.25,
    ncols: int = 1,
    wspace: float = 0.3,
):
    """A figure of ``width`` inches with the ``header`` (`figure_header`) on top and ``body``
    inches for the axes (margins in inches); returns (figure, axes), axes a tuple of ``ncols``
    side by side (``wspace``: their gap, a fraction of an axes' width) when ``ncols > 1``. Every
    header text is wrapped to the figure's width (`fit_text`) and the axes start below the last one."""
    from matplotlib.figure import Figure

    head = 0.12 + sum(inches for _, _, inches in header) + 0.2
    height = head + body
    fig = Figure(figsize=(width, height))
    y = 0.12
    for kind, text, inches in header:
        pos = 1 - (y + (0.05 if kind == "banner" else 0)) / height
        if kind == "title":
            artist = fig.suptitle(text, x=0.5, y=pos, va="top", fontsize=_TITLE_FONT, fontweight="bold")
        elif kind == "line":
            artist = fig.text(0.5, pos, text, ha="center", va="top", fontsize=_LINE_FONT)
        else:
            artist = fig.text(
                0.5,
                pos,
                text,
                ha="center",
                va="top",
                fontsize=_BANNER_FONT,
                fontweight="bold",
                color="white",
                bbox=dict(facecolor="red", edgecolor="darkred", boxstyle=f"round,pad={_BANNER_PAD}"),
            )
        artist.set_multialignment("center")
        fit_text(artist, _header_room(kind, width))
        y += inches
    ax = fig.add_subplot() if ncols == 1 else tuple(fig.subplots(1, ncols))
    fig.subplots_adjust(
        top=1 - head / height,
        bottom=bottom / height,
        left=min(0.6, left / width),
        right=1 - right / width,
        wspace=wspace,
    )
    return fig, ax


def figure_text(fig) -> str:
    """All text on a figure (figure texts, axes titles, labels, tick labels, legends, annotations)."""
    parts = [t.get_text() for t in fig.texts]
    for legend in fig.legends:
        parts += [t.get_text() for t in legend.get_texts()] + [legend.get_title().get_text()]
    for ax in fig.axes:
        parts += [ax.get_title(loc) for loc in ("left", "center", "right")]
        parts += [ax.get_xlabel(), ax.get_ylabel()]
        parts += [t.get_text() for t in ax.get_yticklabels() + ax.get_xticklabels()]
        parts += [t.get_text() for t in ax.texts]
        legend = ax.get_legend()
        if legend is not None:
            parts += [t.get_text() for t in legend.get_texts()]
            parts.append(legend.get_title().get_text())
    return "\n".join(p for p in parts if p)
