"""Write the model tables of README.md and docs/ from the registry, so that they stay true.

Every block between ``<!-- gen:KEY -->`` and ``<!-- /gen:KEY -->`` in README.md and docs/**/*.md
is rewritten:

- ``gen:models``: every registered model (``samkit.model_table()``): name, family, published
  parameters, license, capabilities (points / box / mask / text / video / text in video / generate);
- ``gen:family:NAME``: one family's models (published parameters and where they come from, input
  size, checkpoint, whether a SHA-256 is published) and the authors' published speed and memory
  figures (``samkit/published_perf.csv``).

Licenses come from the registry (each spec's `Checkpoint.license`; a model without one is an error).

    python docs/gen_model_table.py          # rewrite the blocks
    python docs/gen_model_table.py --check  # exit 1 naming the files whose blocks are stale (make docs)
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
sys.path.insert(0, str(REPO))


def license_of(name: str) -> str:
    """The license of a model's weights as the registry records it (``spec.license``), AGPL in bold
    (ultralytics runs FastSAM), "(gated)" for hub repos that need an accepted license."""
    import samkit

    spec = samkit.get_spec(name)
    if not spec.license:
        raise SystemExit(f"docs/gen_model_table.py: {name} has no license in the registry (Checkpoint.license)")
    text = f"**{spec.license}**" if spec.license.startswith("AGPL") else spec.license
    return text + (" (gated)" if spec.gated else "")


#: family -> its page's title
FAMILY_TITLES: dict[str, str] = {
    "sam": "SAM",
    "sam2": "SAM 2 / 2.1",
    "mobile_sam": "MobileSAM",
    "efficientvit_sam": "EfficientViT-SAM",
    "sam_hq": "SAM-HQ",
    "fastsam": "FastSAM",
    "efficient_sam": "EfficientSAM",
    "sam3": "SAM 3",
    "edgetam": "EdgeTAM",
}

#: the table's capability columns -> the registry capability each one reads
CAPABILITY_COLUMNS = {"points": "points", "box": "box", "mask": "mask_input", "video": "video", "generate": "automatic"}

BLOCK = re.compile(r"(<!-- gen:(?P<key>[\w:.-]+) -->\n)(?P<body>.*?)(<!-- /gen:(?P=key) -->)", re.S)
YES, NO = "✓", "–"


def _params(value) -> str:
    if value is None or value != value:  # None or NaN
        return NO
    return f"{value:g}M"


def _value(value) -> str:
    try:
        return f"{float(value):g}"
    except (TypeError, ValueError):
        return _cell(value)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def model_rows():
    """``samkit.model_table()`` as a list of (name, row) pairs, in registration order."""
    import samkit

    table = samkit.model_table()
    return list(table.iterrows())


def family_page(family: str, source: Path) -> str:
    """Relative link from ``source`` (a markdown file) to the family's docs page."""
    return Path(os.path.relpath(DOCS / "models" / f"{family}.md", source.parent)).as_posix()


def models_table(source: Path) -> str:
    """The ``gen:models`` block for the file ``source``."""
    lines = [
        "| name | family | params | license | points | box | mask | text | video | text in video | generate |",
        "|---|---|--:|---|:-:|:-:|:-:|:-:|:-:|:-:|:-:|",
    ]
    for name, row in model_rows():
        family = row["family"]
        caps = set(str(row["capabilities"]).split(","))
        marks = [YES if cap in caps else NO for cap in CAPABILITY_COLUMNS.values()]
        text = {"native": "native", "detector": "detector"}.get(row["text"], NO)
        text_video = "native" if "text_video" in caps else ("detector" if "video" in caps else NO)
        cells = [
            f"`{name}`",
            f"[{family}]({family_page(family, source)})",
            _params(row["params_published_M"]),
            license_of(name),
            *marks[:3],
            text,
            marks[3],
            text_video,
            *marks[4:],
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "params: the authors' published count (– where none is published). mask: "
        "`mask_input` (an earlier call's low-res logits). text: `native` (the model's own "
        "detector head) or `detector` (through an open-vocabulary detector's boxes, "
        "`samkit.load(name, text_detector=...)`). text in video: every instance of a phrase "
        "tracked with ids, `native` (`tracker.add_text`) or `detector` (a detector's boxes "
        "tracked, `samkit.video.concept_baseline.track_concept`). generate: automatic masks "
        "(`model.generate`). Generated from the registry by `docs/gen_model_table.py`."
    )
    return "\n".join(lines) + "\n"


def published_performance():
    """The published speed / memory figures (``samkit/published_perf.csv``) as a list of dicts."""
    try:
        from samkit.results.tables import published_performance as read

        return read().to_dict("records")
    except ImportError:  # the module moved: read the data file wherever the package keeps it
        import samkit

        for path in Path(samkit.__file__).parent.rglob("published_perf.csv"):
            with path.open(newline="") as f:
                return list(csv.DictReader(f))
        raise


def family_table(family: str) -> str:
    """The ``gen:family:NAME`` block: the family's models and their published figures."""
    import samkit

    names = [name for name, row in model_rows() if row["family"] == family]
    if not names:
        raise SystemExit(f"docs/gen_model_table.py: no registered model of family {family!r}")
    out = io.StringIO()
    out.write(f"License: {license_of(names[0])}.\n\n")
    out.write("| name | published params | source of the count | input | checkpoint | published SHA-256 |\n")
    out.write("|---|--:|---|--:|---|:-:|\n")
    for name in names:
        spec = samkit.get_spec(name)
        checkpoint = f"`{spec.checkpoint}`" + (f" (hub `{spec.hub_repo}`)" if spec.hub_repo else "")
        out.write(
            f"| `{name}` | {_params(spec.params_published_m)} | {_cell(spec.params_source)} | "
            f"{spec.input_size} | {checkpoint} | {YES if spec.sha256 else NO} |\n"
        )
    rows = [r for r in published_performance() if r["model"] in names]
    out.write("\n")
    if rows:
        out.write(
            "Published speed and memory figures (the authors' hardware and settings, quoted "
            "from `samkit/published_perf.csv`, never substituted for a measurement):\n\n"
        )
        out.write("| model | metric | value | device | conditions | source |\n|---|---|--:|---|---|---|\n")
        for r in rows:
            out.write(
                f"| `{r['model']}` | {_cell(r['metric'])} | {_value(r['value'])} | "
                f"{_cell(r['device'])} | {_cell(r['conditions'])} | {_cell(r['source'])} |\n"
            )
    else:
        out.write("No published speed or memory figure is recorded for this family.\n")
    return out.getvalue()


def render(key: str, source: Path) -> str:
    """The body of the block ``key`` in the file ``source``."""
    if key == "models":
        return models_table(source)
    if key.startswith("family:"):
        return family_table(key.split(":", 1)[1])
    raise SystemExit(f"{source}: unknown generated block <!-- gen:{key} -->")


def targets() -> list[Path]:
    """README.md and every markdown file under docs/."""
    return [REPO / "README.md", *sorted(DOCS.rglob("*.md"))]


def update(path: Path) -> tuple[str, str]:
    """``(old, new)`` text of ``path`` with its generated blocks rewritten."""
    old = path.read_text(encoding="utf-8")
    new = BLOCK.sub(lambda m: m.group(1) + render(m.group("key"), path) + m.group(4), old)
    return old, new


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or with ``--check``, verify) every generated block."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when a block is stale, write nothing")
    args = parser.parse_args(argv)
    stale = []
    for path in targets():
        old, new = update(path)
        if old != new:
            stale.append(path.relative_to(REPO).as_posix())
            if not args.check:
                path.write_text(new, encoding="utf-8")
    if args.check and stale:
        print(
            "stale generated tables in: " + ", ".join(stale) + "\nrun: .venv/bin/python docs/gen_model_table.py",
            file=sys.stderr,
        )
        return 1
    print(("rewrote " + ", ".join(stale)) if stale else "generated tables are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
