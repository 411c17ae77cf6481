"""Pack the GPU kit: wheels, for CPython 3.12 on x86-64 Linux, of everything samkit needs that the
GPU machines' image lacks (issue 26), into ``.whl/`` (git-ignored; the folder the device tool carries).

    make gpu-kit                                       # = .venv/bin/python experiments/gpu/make_kit.py
    .venv/bin/python experiments/gpu/make_kit.py --check   # re-check .whl/ only: sizes, sha256, requirements

The image (``experiments/gpu/image_packages.txt``) has PyTorch, transformers 5.17, timm and the
scientific stack; the kit brings the model packages (sam2 built here as a pure-Python wheel with
``SAM2_BUILD_CUDA=0``, segment-anything, mobile_sam, SAM-HQ, EfficientViT-SAM), Hydra / OmegaConf /
ANTLR, pycocotools, ultralytics, the pinned transformers and samkit itself (a wheel of this
checkout). Versions pinned in pyproject.toml are read from it, so the kit cannot drift from it.
Wheels on PyPI are downloaded for the target (``pip download --only-binary=:all: --python-version
3.12 --platform manylinux...``); a project with only a source archive is built here, and must then
be pure Python (``py3-none-any``).

Then every wheel's requirements are checked against the kit and the image: one that neither
satisfies is an error unless `NOT_BROUGHT` says why it is left out. ``.whl/MANIFEST.txt`` lists
name, version, size (bytes) and sha256 of every wheel; the kit must stay under ``--cap-mib`` (60).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from email.parser import HeaderParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
#: the kit's size limit (all wheels together), MiB
CAP_MIB = 60.0
MIB = 1024 * 1024
#: the target interpreter and platforms (the GPU image: CPython 3.12, glibc Linux on x86-64)
PYTHON_VERSION = "3.12"
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "any")
#: PEP 508 marker environment of the target, for the requirement check
TARGET_ENV = {
    "python_version": "3.12",
    "python_full_version": "3.12.3",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "extra": "",
}
MANIFEST = "MANIFEST.txt"


class KitError(RuntimeError):
    """The kit cannot be built or does not pass its checks (size cap, unmet requirements)."""


@dataclass(frozen=True)
class Item:
    """One wheel of the kit: project ``name``, ``version``, ``how`` it is made and ``why`` it is there.

    ``how``: ``"download"`` (PyPI wheel for the target, else built here if pure Python),
    ``"sam2"`` (built here with ``SAM2_BUILD_CUDA=0``: no CUDA extension, a pure-Python wheel),
    ``"self"`` (samkit, a wheel of this checkout).
    """

    name: str
    version: str
    how: str = "download"
    why: str = ""


#: the kit's projects whose version pyproject.toml pins (``name==version``), and why each is there
FROM_PYPROJECT: dict[str, str] = {
    "segment-anything": "SAM (module segment_anything)",
    "mobilesam-mirror": "MobileSAM (module mobile_sam)",
    "segment-anything-hq": "SAM-HQ (module segment_anything_hq)",
    "efficientsam": "EfficientViT-SAM (module efficientsam)",
    "sam2": "SAM 2 / 2.1 (built here, SAM2_BUILD_CUDA=0)",
    "hydra-core": "sam2's configs; samkit's experiments",
    "transformers": "the pinned transformers (hf extra: SAM 3, EdgeTAM, detectors); the image has 5.17",
    "ultralytics": "FastSAM, YOLO detectors (ultralytics extra)",
}
#: the kit's other projects: samkit's or the above's unpinned requirements the image lacks or has too old
EXTRA: tuple[Item, ...] = (
    Item("omegaconf", "2.3.1", why="hydra-core, sam2 (samkit requires omegaconf>=2.3)"),
    Item("antlr4-python3-runtime", "4.9.3", why="hydra-core / omegaconf pin antlr4 4.9.*; source only, built here"),
    Item("pycocotools", "2.0.11", why="samkit's masks codec and COCO scoring (cp312 manylinux wheel)"),
    Item("iopath", "0.1.10", why="sam2 requirement; source only, built here"),
    Item("platformdirs", "4.14.9", why="samkit requirement (checkpoint folder)"),
    Item("regex", "2026.12.2", why="transformers 5.24 needs regex>=2025.10.22; the image's version is not recorded"),
    Item("ultralytics-thop", "2.2.3", why="ultralytics requirement (FLOPs in model info)"),
)
#: requirements of kit wheels that the kit leaves out on purpose, and why
NOT_BROUGHT: dict[str, str] = {
    "opencv-python": "the image has opencv-python-headless (the same cv2 module)",
    "polars": "ultralytics imports it lazily (plots, result summaries); samkit's FastSAM path does not; ~40 MB",
    "ultralytics-platform": "ultralytics imports it lazily (ultralytics.Platform only)",
}


def canonical(name: str) -> str:
    """PEP 503 normalised project name (``Segment_Anything`` -> ``segment-anything``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject_pins(path: Path = ROOT / "pyproject.toml") -> dict[str, str]:
    """``{canonical name: version}`` of every ``name==version`` in pyproject's dependencies and extras."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    project = tomllib.loads(path.read_text())["project"]
    specs = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        specs.extend(extra)
    pins = {}
    for spec in specs:
        match = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;,]+)\s*", spec.split(";")[0])
        if match:
            pins[canonical(match.group(1))] = match.group(2)
    return pins


def kit_items(pyproject: Path = ROOT / "pyproject.toml") -> list[Item]:
    """The kit: `FROM_PYPROJECT` at pyproject's pins, `EXTRA`, and samkit itself (``how="self"``)."""
    pins = pyproject_pins(pyproject)
    missing = sorted(set(FROM_PYPROJECT) - set(pins))
    if missing:
        raise KitError(f"pyproject.toml pins no version (name==version) of {missing}; make_kit.py expects one")
    items = [
        Item(name, pins[name], how="sam2" if name == "sam2" else "download", why=why)
        for name, why in FROM_PYPROJECT.items()
    ]
    items.extend(EXTRA)
    items.append(Item("samkit", _samkit_version(), how="self", why="samkit itself (a wheel of this checkout)"))
    return items


def _samkit_version() -> str:
    text = (ROOT / "samkit" / "version.py").read_text()
    match = re.search(r'^__version__\s*=\s*"([^"]+)"', text, re.M)
    if not match:
        raise KitError("samkit/version.py has no __version__")
    return match.group(1)


def read_image_packages(path: Path = HERE / "image_packages.txt") -> dict[str, str | None]:
    """``{canonical name: version or None}`` of the GPU image (None: there, version not recorded)."""
    out: dict[str, str | None] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, *version = line.split()
            out[canonical(name)] = version[0] if version else None
    return out


# ------------------------------------------------------------------------------------ fetching


def _pip(python: str, *args: str, env: dict[str, str] | None = None) -> None:
    cmd = [python, "-m", "pip", *args]
    print("[kit] " + " ".join(cmd), flush=True)
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise KitError(f"pip failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr[-3000:]}")


def fetch(item: Item, dest: Path, python: str = sys.executable) -> Path:
    """Put the wheel of ``item`` into ``dest`` (a fresh folder); returns its path."""
    import os

    before = set(dest.glob("*.whl"))
    if item.how == "download":
        platform_args = [a for p in PLATFORMS for a in ("--platform", p)]
        try:
            _pip(
                python,
                *("download", "--no-deps", "--only-binary=:all:", "--python-version", PYTHON_VERSION),
                *("--implementation", "cp", *platform_args, "-d", str(dest), f"{item.name}=={item.version}"),
            )
        except KitError:  # no wheel on the index: build one here, pure Python only
            _pip(python, "wheel", "--no-deps", "-w", str(dest), f"{item.name}=={item.version}")
    elif item.how == "sam2":
        env = {**os.environ, "SAM2_BUILD_CUDA": "0"}
        _pip(python, "wheel", "--no-deps", "--no-build-isolation", "-w", str(dest), f"sam2=={item.version}", env=env)
    elif item.how == "self":
        with tempfile.TemporaryDirectory() as tmp:  # a clean copy: no build/ or egg-info in the checkout
            src = Path(tmp) / "samkit-src"
            src.mkdir()
            for name in ("pyproject.toml", "README.md", "LICENSE", "NOTICE"):
                shutil.copy2(ROOT / name, src / name)
            shutil.copytree(ROOT / "samkit", src / "samkit", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            _pip(python, "wheel", "--no-deps", "--no-build-isolation", "-w", str(dest), str(src))
    else:
        raise KitError(f"{item.name}: unknown how={item.how!r}")
    new = sorted(set(dest.glob("*.whl")) - before)
    if len(new) != 1:
        raise KitError(f"{item.name}: expected one new wheel in {dest}, got {[p.name for p in new]}")
    wheel = new[0]
    if item.how != "download" or not _is_target_binary(wheel.name):
        if not wheel.name.endswith("-none-any.whl"):
            raise KitError(f"{item.name}: {wheel.name} was built here but is not pure Python (py3-none-any)")
    return wheel


def _is_target_binary(filename: str) -> bool:
    """A cp312 / abi3 manylinux x86-64 wheel (what pip download chose for the target)."""
    return bool(re.search(r"-cp3\d+-(cp312|abi3)-.*manylinux.*x86_64\.whl$", filename))


# ------------------------------------------------------------------------------------ checking


@dataclass(frozen=True)
class Wheel:
    """One wheel file: its METADATA ``name`` / ``version`` / ``requires`` (Requires-Dist lines)."""

    path: Path
    name: str
    version: str
    size: int
    sha256: str
    requires: tuple[str, ...]


def read_wheel(path: Path) -> Wheel:
    """Name, version and requirements from the wheel's ``*.dist-info/METADATA``, plus size and sha256."""
    with zipfile.ZipFile(path) as zf:
        metas = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
        if len(metas) != 1:
            raise KitError(f"{path.name}: expected one *.dist-info/METADATA, found {metas}")
        meta = HeaderParser().parsestr(zf.read(metas[0]).decode("utf-8"))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return Wheel(
        path=path,
        name=str(meta["Name"]),
        version=str(meta["Version"]),
        size=path.stat().st_size,
        sha256=digest,
        requires=tuple(meta.get_all("Requires-Dist") or ()),
    )


def read_kit(folder: Path) -> list[Wheel]:
    """Every ``*.whl`` in ``folder``, sorted by name."""
    return sorted((read_wheel(p) for p in folder.glob("*.whl")), key=lambda w: canonical(w.name))


def check_cap(wheels: Sequence[Wheel], cap_mib: float = CAP_MIB) -> int:
    """Total bytes of ``wheels``; `KitError` naming the largest ones when above ``cap_mib`` MiB."""
    total = sum(w.size for w in wheels)
    if total > cap_mib * MIB:
        largest = ", ".join(f"{w.path.name} {w.size / MIB:.1f} MiB" for w in sorted(wheels, key=lambda w: -w.size)[:5])
        raise KitError(f"the kit is {total / MIB:.1f} MiB, above its {cap_mib:g} MiB cap; largest: {largest}")
    return total


def unmet_requirements(wheels: Sequence[Wheel], image: dict[str, str | None]) -> tuple[list[str], list[str], list[str]]:
    """Check every wheel's requirements (their markers evaluated for `TARGET_ENV`) against the kit,
    then the image. Returns ``(missing, left_out, unverified)`` as ``"wheel: requirement (why)"``
    lines: ``missing`` neither has (an error), ``left_out`` are in `NOT_BROUGHT`, ``unverified`` the
    image has at a version not recorded."""
    from packaging.requirements import Requirement

    kit = {canonical(w.name): w.version for w in wheels}
    missing, left_out, unverified = [], [], []
    for wheel in wheels:
        for text in wheel.requires:
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate(TARGET_ENV):
                continue  # an extra, another platform or another Python
            name = canonical(req.name)
            where = f"{wheel.name}: {text.split(';')[0].strip()}"
            if name in kit:
                if not req.specifier.contains(kit[name], prereleases=True):
                    missing.append(f"{where} (the kit has {kit[name]})")
            elif name in image:
                version = image[name]
                if version is None:
                    if str(req.specifier):
                        unverified.append(f"{where} (the image's version is not recorded)")
                elif not req.specifier.contains(version, prereleases=True):
                    missing.append(f"{where} (the image has {version})")
            elif name in NOT_BROUGHT:
                left_out.append(f"{where} ({NOT_BROUGHT[name]})")
            else:
                missing.append(f"{where} (neither the kit nor the image has it)")
    return missing, left_out, unverified


def write_manifest(
    folder: Path,
    cap_mib: float = CAP_MIB,
    image: dict[str, str | None] | None = None,
    header: Sequence[str] = (),
) -> Path:
    """Check ``folder``'s wheels (cap, requirements) and write ``folder/MANIFEST.txt``: ``#`` header
    lines, then ``name version size_bytes sha256 file`` per wheel, then the requirements left out
    and unverified. Raises `KitError` above the cap or on a missing requirement (nothing written)."""
    wheels = read_kit(folder)
    if not wheels:
        raise KitError(f"no wheels in {folder}")
    total = check_cap(wheels, cap_mib)
    missing, left_out, unverified = unmet_requirements(wheels, image if image is not None else {})
    if missing:
        raise KitError("requirements neither the kit nor the image meets:\n  " + "\n  ".join(missing))
    lines = [f"# {line}" for line in header]
    lines.append(
        f"# {len(wheels)} wheels, {total} bytes ({total / MIB:.2f} MiB) of a {cap_mib:g} MiB cap; "
        "install: python3 -m pip install --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl"
    )
    lines.append("# name version size_bytes sha256 file")
    lines += [f"{w.name} {w.version} {w.size} {w.sha256} {w.path.name}" for w in wheels]
    lines += [f"# left out: {line}" for line in left_out]
    lines += [f"# unverified: {line}" for line in unverified]
    path = folder / MANIFEST
    path.write_text("\n".join(lines) + "\n")
    return path


def read_manifest(folder: Path) -> list[dict[str, str | int]]:
    """The wheel lines of ``folder/MANIFEST.txt`` as dicts (name, version, size, sha256, file)."""
    rows: list[dict[str, str | int]] = []
    for line in (folder / MANIFEST).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version, size, sha, file = line.split()
            rows.append({"name": name, "version": version, "size": int(size), "sha256": sha, "file": file})
    return rows


def _git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
        )
        return head.stdout.strip()[:12] + ("-dirty" if dirty.stdout.strip() else "") if head.returncode == 0 else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def build(dest: Path, cap_mib: float = CAP_MIB, python: str = sys.executable) -> Path:
    """Fetch every `kit_items` wheel into a staging folder, check it, then replace ``dest``'s wheels
    and manifest with it (``dest`` keeps nothing else of ours: old wheels are removed)."""
    items = kit_items()
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="samkit-kit-") as tmp:
        stage = Path(tmp)
        for item in items:
            wheel = fetch(item, stage, python)
            print(f"[kit] {wheel.name}: {wheel.stat().st_size / MIB:.2f} MiB ({item.why})", flush=True)
        header = [
            f"samkit GPU kit: wheels for CPython {PYTHON_VERSION} on x86-64 Linux, built "
            f"{datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ} by experiments/gpu/make_kit.py "
            f"from samkit {_samkit_version()} (git {_git_commit()})",
        ]
        write_manifest(stage, cap_mib, read_image_packages(), header)
        for old in list(dest.glob("*.whl")) + [dest / MANIFEST]:
            old.unlink(missing_ok=True)
        for path in stage.iterdir():
            shutil.move(str(path), dest / path.name)
    return dest / MANIFEST


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dest", type=Path, default=ROOT / ".whl", help="the kit folder (default: .whl/)")
    parser.add_argument("--cap-mib", type=float, default=CAP_MIB, help="size cap of all wheels together, MiB")
    parser.add_argument("--check", action="store_true", help="only check --dest and rewrite its manifest")
    args = parser.parse_args(argv)
    try:
        if args.check:
            old = (args.dest / MANIFEST).read_text().splitlines() if (args.dest / MANIFEST).is_file() else []
            header = [line[2:] for line in old[:1] if line.startswith("# samkit GPU kit")]
            manifest = write_manifest(args.dest, args.cap_mib, read_image_packages(), header)
        else:
            manifest = build(args.dest, args.cap_mib)
    except KitError as err:
        print(f"[kit] error: {err}", file=sys.stderr)
        return 1
    print(manifest.read_text(), end="")
    total = sum(int(r["size"]) for r in read_manifest(manifest.parent))
    print(f"[kit] {manifest.parent}: {total / MIB:.2f} MiB (cap {args.cap_mib:g} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
