"""Checkpoints: find, download (progress bar, SHA-256, atomic), verify, and read safely.

Search order for a model's checkpoint: an explicit path, then ``$SAMKIT_CHECKPOINTS`` (default
``<user cache dir>/samkit/checkpoints``). Missing files are downloaded from the official URL,
verified against the registry's SHA-256 and moved into place atomically, so a killed download
never leaves a file that looks complete. Reading uses ``torch.load(weights_only=True)``: no
arbitrary code in a pickle is ever executed.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from samkit.atomic import atomic_write_text
from samkit.errors import CheckpointError, ChecksumError, DownloadError
from samkit.registry import ModelSpec

__all__ = [
    "WeightsInfo",
    "checkpoint_dir",
    "default_path",
    "weights_file",
    "find_checkpoint",
    "download",
    "sha256_file",
    "verify",
    "VerifyResult",
    "resolve_checkpoint",
    "read_state_dict",
]

_CHUNK = 1 << 20
_CACHE_FILE = ".sha256-cache.json"
_HF_FILES = ("config.json", "model.safetensors")


@dataclass(frozen=True)
class WeightsInfo:
    """Which weights a loaded model carries; goes into every result row and provenance record.

    kind: ``"pretrained"`` (from a checkpoint file) or ``"random"`` (seeded initialisation).
    sha256: SHA-256 of the checkpoint file (pretrained only).
    official: the file's SHA-256 equals the registry's published value (pretrained only); None
        where the authors publish no checksum (the file cannot be told from another).
    seed: the torch seed of the random initialisation (random only).
    path: the checkpoint file (or hub folder, ``layout="hf"``) that was read (pretrained only).
    config: the named architecture config of a random build where a family has several
        (``"full"``, or ``"tiny"`` for tests and smoke runs; ``samkit.load(..., config=...)``).
    """

    kind: str
    sha256: str | None = None
    official: bool | None = None
    seed: int | None = None
    path: str | None = None
    config: str | None = None

    def __str__(self) -> str:
        if self.kind == "random":
            return (
                f"random(seed={self.seed})"
                if self.config is None
                else f"random(seed={self.seed}, config={self.config})"
            )
        tag = {True: "", None: ", no published sha256"}.get(self.official, ", unofficial file")
        return f"pretrained(sha256={(self.sha256 or '?')[:12]}{tag})"


def checkpoint_dir() -> Path:
    """Folder that holds downloaded checkpoints: ``$SAMKIT_CHECKPOINTS`` or the user cache dir."""
    env = os.environ.get("SAMKIT_CHECKPOINTS")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("samkit")) / "checkpoints"


def default_path(spec: ModelSpec) -> Path:
    """Where the official checkpoint of ``spec`` lives once downloaded (a folder for ``layout="hf"``)."""
    return checkpoint_dir() / spec.checkpoint


def weights_file(spec: ModelSpec, path: str | os.PathLike) -> Path:
    """The file whose SHA-256 identifies a checkpoint: ``path`` itself, or a hub folder's ``model.safetensors``."""
    return Path(path) / "model.safetensors" if spec.layout == "hf" else Path(path)


def _complete_hf_folder(path: Path) -> bool:
    return all((path / name).is_file() for name in _HF_FILES)


def _wrong_kind(spec: ModelSpec, path: Path) -> str | None:
    """Why ``path`` cannot be ``spec``'s checkpoint: a folder where the layout wants a file, or a
    file where a hub folder (``layout="hf"``) belongs. None when it is of the right kind or absent."""
    if spec.layout == "hf":
        if not path.is_file():
            return None
        hint = f" Pass the folder that holds it: {path.parent}." if path.name in _HF_FILES else ""
        return (
            f"{str(path)!r} is a file, but the {spec.name} checkpoint is a Hugging Face folder holding "
            f"{' and '.join(_HF_FILES)} (the hub repo's layout).{hint}"
        )
    if not path.is_dir():
        return None
    inside = path / spec.checkpoint
    hint = f" Did you mean {inside}?" if inside.is_file() else ""
    return (
        f"{str(path)!r} is a directory, but the {spec.name} checkpoint is a file, {spec.checkpoint} "
        f"(layout {spec.layout!r}).{hint}"
    )


def find_checkpoint(spec: ModelSpec, checkpoint: str | os.PathLike | None = None) -> Path | None:
    """The checkpoint to use: ``checkpoint`` if given (must exist and be a file, or a hub folder for
    ``layout="hf"``), else the default path if a checkpoint of the right kind is there."""
    if checkpoint is not None:
        path = Path(checkpoint).expanduser()
        if (problem := _wrong_kind(spec, path)) is not None:
            raise CheckpointError(f"Checkpoint path {problem}")
        if spec.layout == "hf":
            if not path.exists():
                raise CheckpointError(f"Checkpoint folder {str(path)!r} for {spec.name} does not exist.")
            from samkit.backends.transformers import check_folder

            return check_folder(path)
        if not path.is_file():
            raise CheckpointError(f"Checkpoint file {str(path)!r} for {spec.name} does not exist.")
        return path
    path = default_path(spec)
    if spec.layout == "hf":
        return path if _complete_hf_folder(path) else None
    return path if path.is_file() else None


def download(
    spec: ModelSpec, dest: str | os.PathLike | None = None, *, progress: bool = True, timeout: float = 30.0
) -> Path:
    """Download the official checkpoint of ``spec`` to ``dest`` (default: `default_path`).

    The file is streamed into a temporary file beside ``dest``, checked against the registry's
    size and SHA-256, and only then renamed into place. Raises `DownloadError` when the URL cannot
    be reached (the message names the URL and the folder to put the file in) and `ChecksumError`
    when the bytes are not the published file.
    """
    if spec.layout == "hf":
        return _download_hf(spec, dest, progress)
    if spec.hub_repo is not None:  # one file of a hub repo (SAM 3.1): the hub client, with the login token
        return _download_hub_file(spec, dest, progress)
    from tqdm.auto import tqdm

    dest = Path(dest) if dest is not None else default_path(spec)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    received = 0
    try:
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(spec.url, timeout=timeout) as resp:
                total = int(resp.headers.get("Content-Length") or 0) or spec.size_bytes or 0
                with tqdm(
                    total=total or None,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc=f"{spec.name}: {dest.name}",
                    disable=not progress,
                ) as bar:
                    while chunk := resp.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:
            reason = (
                f"HTTP {err.code} {err.reason}"
                if isinstance(err, urllib.error.HTTPError)
                else getattr(err, "reason", err)
            )
            raise DownloadError(
                f"Could not download the {spec.name} checkpoint from {spec.url} ({reason}). "
                f"If this machine is offline, fetch that file elsewhere"
                f"{' (a zip: unzip it)' if spec.archive == 'zip' else ''} and put it at {dest} "
                f"(or point SAMKIT_CHECKPOINTS at the folder that holds {dest.name}), pass "
                "checkpoint='path/to/file', or use weights='random' for the real architecture with "
                "random weights."
            ) from err
        expected_size = total or spec.size_bytes
        if expected_size and received != expected_size:
            raise DownloadError(
                f"Download of {spec.url} ended after {received} bytes of the expected "
                f"{expected_size}. Nothing was saved; try again."
            )
        sha = digest.hexdigest()
        if spec.archive == "zip":  # the URL serves a zip holding the checkpoint (EfficientSAM-S)
            tmp, sha = _extract_from_zip(tmp, spec, dest)
        if spec.sha256 is not None and sha != spec.sha256:
            raise ChecksumError(
                f"The file downloaded from {spec.url} has SHA-256 {sha}, not the published "
                f"{spec.sha256} for {spec.name}. Nothing was saved."
            )
        os.replace(tmp, dest)
        _remember_sha256(dest, sha)
        return dest
    finally:
        tmp.unlink(missing_ok=True)


def _extract_from_zip(archive: Path, spec: ModelSpec, dest: Path) -> tuple[Path, str]:
    """Extract the member named ``spec.checkpoint`` of the zip ``archive`` into a temporary file
    beside ``dest`` and delete the archive. Returns that file and its SHA-256."""
    import zipfile

    fd, out_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    out_path, digest = Path(out_name), hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, zipfile.ZipFile(archive) as zf:
            members = [m for m in zf.namelist() if Path(m).name == spec.checkpoint and not m.startswith("__MACOSX/")]
            if not members:
                raise DownloadError(
                    f"The zip downloaded from {spec.url} holds no {spec.checkpoint} (it has "
                    f"{zf.namelist()[:5]}). Nothing was saved."
                )
            with zf.open(members[0]) as src:
                while chunk := src.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
    except zipfile.BadZipFile as err:
        out_path.unlink(missing_ok=True)
        raise DownloadError(
            f"The file downloaded from {spec.url} is not a valid zip archive ({err}). Nothing was saved; try again."
        ) from None
    except BaseException:
        out_path.unlink(missing_ok=True)
        raise
    finally:
        archive.unlink(missing_ok=True)
    return out_path, digest.hexdigest()


def _download_hf(spec: ModelSpec, dest: str | os.PathLike | None, progress: bool) -> Path:
    """Hub repo ``spec.hub_repo`` at ``spec.revision`` into the folder ``dest``; checks ``spec.sha256``."""
    from samkit.backends.transformers import download_snapshot

    dest = Path(dest) if dest is not None else default_path(spec)
    folder = download_snapshot(spec.hub_repo, spec.revision, dest, name=spec.name, gated=spec.gated, progress=progress)
    sha = sha256_file(weights_file(spec, folder))
    if spec.sha256 is not None and sha != spec.sha256:
        raise ChecksumError(
            f"{weights_file(spec, folder)} (downloaded from {spec.hub_repo}@{spec.revision}) has "
            f"SHA-256 {sha}, not the published {spec.sha256} for {spec.name}; delete the folder "
            "and download again."
        )
    return folder


def _download_hub_file(spec: ModelSpec, dest: str | os.PathLike | None, progress: bool) -> Path:
    """The file ``spec.url`` names, from the hub repo ``spec.hub_repo`` (gated repos: with the
    token of ``hf auth login``), to ``dest``; checks ``spec.sha256`` where one is published."""
    from samkit.backends.transformers import download_hub_files

    dest = Path(dest) if dest is not None else default_path(spec)
    [path] = download_hub_files(
        spec.hub_repo,
        [spec.url.rsplit("/", 1)[-1]],
        spec.revision,
        dest.parent,
        name=spec.name,
        gated=spec.gated,
        progress=progress,
    )
    if path.resolve() != dest.resolve():
        os.replace(path, dest)
    sha = sha256_file(dest)
    if spec.sha256 is not None and sha != spec.sha256:
        dest.unlink()
        raise ChecksumError(
            f"The file downloaded from {spec.hub_repo}@{spec.revision} has SHA-256 {sha}, not the published "
            f"{spec.sha256} for {spec.name}. Nothing was kept."
        )
    return dest


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a file; cached per (path, size, mtime) in the checkpoint folder."""
    path = Path(path).resolve()
    stat = path.stat()
    key, stamp = str(path), [stat.st_size, stat.st_mtime_ns]
    cache = _read_cache()
    hit = cache.get(key)
    if hit and hit[1:] == stamp:
        return hit[0]
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    sha = digest.hexdigest()
    _remember_sha256(path, sha)
    return sha


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of `verify` for one model: status is ok, missing, mismatch or unpublished."""

    name: str
    path: str
    status: str
    sha256: str | None

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "unpublished")


def verify(spec: ModelSpec, path: str | os.PathLike | None = None) -> VerifyResult:
    """Check the checkpoint of ``spec`` (default location unless ``path``) against the published SHA-256.

    status: ``ok`` (matches), ``mismatch`` (differs: corrupt, truncated or another file),
    ``missing`` (no file), ``unpublished`` (no published checksum to compare with).
    """
    file = weights_file(spec, Path(path) if path is not None else default_path(spec))
    if not file.is_file() or (spec.layout == "hf" and not _complete_hf_folder(file.parent)):
        return VerifyResult(spec.name, str(file), "missing", None)
    sha = sha256_file(file)
    if spec.sha256 is None:
        status = "unpublished"
    else:
        status = "ok" if sha == spec.sha256 else "mismatch"
    return VerifyResult(spec.name, str(file), status, sha)


def resolve_checkpoint(
    spec: ModelSpec,
    checkpoint: str | os.PathLike | None = None,
    *,
    download_missing: bool = True,
    progress: bool = True,
) -> WeightsInfo:
    """Find (or download) the checkpoint of ``spec`` and describe it as a `WeightsInfo`.

    A file at the default location must match the published SHA-256 (else `ChecksumError`: a
    corrupt or partial file there is never loaded). An explicit ``checkpoint`` may be any file in
    the family's layout (e.g. fine-tuned weights); its SHA-256 is recorded and ``official`` says
    whether it is the published file. A folder where the layout wants a file (or a file where a
    ``layout="hf"`` hub folder belongs), given or at the default location, is a `CheckpointError`
    that says so and names what is expected.
    """
    path = find_checkpoint(spec, checkpoint)
    if path is None:
        if (problem := _wrong_kind(spec, default_path(spec))) is not None:
            raise CheckpointError(
                f"The default checkpoint location {problem} Move it away and run "
                f"`samkit weights download {spec.name}`, or pass checkpoint=..."
            )
        if not download_missing:
            gated = (
                f" The repo is gated: accept its license at {spec.url} and run `hf auth login` first."
                if spec.gated
                else ""
            )
            what = "the Hugging Face folder (config.json + model.safetensors)" if spec.layout == "hf" else "it"
            raise CheckpointError(
                f"No checkpoint for {spec.name} at {default_path(spec)}. Download {what} with "
                f"`samkit weights download {spec.name}` (from {spec.url}), pass checkpoint=..., or "
                f"use weights='random'.{gated}"
            )
        path = download(spec, progress=progress)
    sha = sha256_file(weights_file(spec, path))
    official = None if spec.sha256 is None else sha == spec.sha256  # None: nothing to compare with
    if checkpoint is None and spec.sha256 is not None and not official:
        raise ChecksumError(
            f"{path} has SHA-256 {sha}, not the published {spec.sha256} of {spec.name}: the file is "
            "corrupt, truncated or another model's. Delete it and run "
            f"`samkit weights download {spec.name}`."
        )
    return WeightsInfo("pretrained", sha256=sha, official=official, path=str(path))


def read_state_dict(path: str | os.PathLike, spec: ModelSpec) -> dict[str, Any]:
    """Read a checkpoint safely (tensors only, no code execution) and unwrap it per the family's layout."""
    import pickle

    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"{path} is not a plain checkpoint of tensors: loading it would execute code from the "
            f"file, which samkit refuses (torch.load(weights_only=True) said: {_first_line(err)})."
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise CheckpointError(
            f"{path} is not a readable PyTorch checkpoint (truncated or corrupt?): {_first_line(err)}"
        ) from None
    if spec.layout == "model_key":
        if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
            obj = obj["model"]
        else:
            raise CheckpointError(
                f"{path} is not in the {spec.family} layout: expected a dict with a 'model' "
                "state dict (the official SAM 2 files), got "
                f"{_describe(obj)}."
            )
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(
            f"{path} is not in the {spec.family} layout: expected a state dict of tensors, got {_describe(obj)}."
        )
    return obj


def _describe(obj: Any) -> str:
    if isinstance(obj, dict):
        keys = list(obj)[:5]
        return f"a dict with keys {keys}{' ...' if len(obj) > 5 else ''}"
    return type(obj).__name__


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _cache_path() -> Path:
    return checkpoint_dir() / _CACHE_FILE


def _read_cache() -> dict[str, list]:
    try:
        return json.loads(_cache_path().read_text())
    except (OSError, ValueError):
        return {}


def _remember_sha256(path: Path, sha: str) -> None:
    """Record a file's hash in the cache; best effort (a read-only cache folder is fine)."""
    path = Path(path).resolve()
    stat = path.stat()
    cache = _read_cache()
    cache[str(path)] = [sha, stat.st_size, stat.st_mtime_ns]
    try:
        atomic_write_text(_cache_path(), json.dumps(cache))
    except OSError:
        pass
