"""Video input: `open_video` turns a frames folder, a video file or arrays into lazy `VideoFrames`.

Every source gives the same read-only sequence of HxWx3 uint8 RGB frames::

    frames = open_video("clip.mp4")        # or a folder of 00000.jpg..., a (T, H, W, 3) array, a list
    len(frames), frames.size, frames.fps   # T, (H, W), frames per second (None if unknown)
    frame = frames[10]                     # decoded now, not before; a fresh array you own

Sources:

- a folder of ``.jpg`` / ``.jpeg`` / ``.png`` frames (hidden files ignored), ordered as sam2's video
  predictor orders them: by ``int(stem)`` when every stem is an integer (``0.jpg``, ``1.jpg``, ...,
  ``10.jpg``; sam2 requires that for its JPEG folders), else by name. One image is read per access;
  every frame's size is checked up front from its header (cheap).
- a video file (mp4, mov, avi, mkv, webm, ...: anything PyAV's bundled ffmpeg reads), first video
  stream. Opening reads the packet index (timestamps and keyframes; no decoding); frames are decoded
  in order when asked for, with a small cache, and a backward or far jump seeks to the nearest
  keyframe before the frame. Rotation metadata and non-square pixel aspect ratios are not applied.
- a (T, H, W, 3) uint8 array (also (T, H, W, 1) grayscale and (T, H, W, 4) RGBA, converted per frame
  as `samkit.images.to_rgb_uint8` converts images, with one `ImageConversionWarning`); a list of
  HxWx3 uint8 arrays or PIL images (each converted by `to_rgb_uint8`); or a `VideoFrames` (as is).

Bad input raises `samkit.errors.VideoError` naming the problem: a missing path, no frames, an
unreadable or corrupt file (with its path), frames of different sizes, wrong array shape or dtype.

`write_video` writes frames to an mp4 (H.264 when PyAV has libx264, else MPEG-4 part 2; H and W must
be even); `write_frames_folder` writes ``00000.jpg``, ``00001.jpg``, ... (sam2's layout).
"""

from __future__ import annotations

import bisect
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from samkit.errors import ImageConversionWarning, ImageError, VideoError, require_extra
from samkit.images import to_rgb_uint8

__all__ = ["VideoFrames", "open_video", "write_video", "write_frames_folder", "FRAME_EXTENSIONS", "VIDEO_EXTENSIONS"]

#: image files read as frames from a folder (case-insensitive)
FRAME_EXTENSIONS = (".jpg", ".jpeg", ".png")
#: file suffixes documented as video files; any other existing file is also tried with PyAV
VIDEO_EXTENSIONS = (
    ".mp4",
    ".m4v",
    ".mov",
    ".avi",
    ".mkv",
    ".webm",
    ".mpg",
    ".mpeg",
    ".ts",
    ".gif",
    ".wmv",
    ".flv",
    ".3gp",
)


class VideoFrames(Sequence):
    """A lazy, read-only sequence of T frames, each HxWx3 uint8 RGB (get one with `open_video`).

    Attributes:
        size: ``(H, W)`` in pixels, the same for every frame.
        fps: frames per second (float), or None when the source has no rate (folders, arrays).
        source: the file or folder path as str, or ``"array"`` for in-memory frames.
        frame_names: T names: file stems for folders, ``"00000"``, ``"00001"``, ... otherwise.

    ``frames[i]`` (negative ``i`` counts from the end) decodes or reads frame ``i`` and returns a
    new writable array; ``frames[a:b]`` is a lazy `VideoFrames` of those frames; iteration is in
    order. ``num_decoded`` counts frames decoded or read from disk so far (to check laziness).
    """

    def __init__(
        self, backend: _Backend, frame_names: list[str] | None = None, indices: Sequence[int] | None = None
    ) -> None:
        self._backend = backend
        self._indices = None if indices is None else list(indices)
        n = len(self._indices) if self._indices is not None else backend.length
        self.frame_names = list(frame_names) if frame_names is not None else [f"{i:05d}" for i in range(n)]
        if len(self.frame_names) != n:
            raise VideoError(f"{len(self.frame_names)} frame names for {n} frames")

    @property
    def size(self) -> tuple[int, int]:
        return self._backend.size

    @property
    def fps(self) -> float | None:
        return self._backend.fps

    @property
    def source(self) -> str:
        return self._backend.source

    @property
    def num_decoded(self) -> int:
        """Frames decoded (video files), read (folders) or copied out (arrays) so far."""
        return self._backend.decoded

    def __len__(self) -> int:
        return len(self._indices) if self._indices is not None else self._backend.length

    def _resolve(self, index: Any) -> int:
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"frame index must be an int or a slice, got {index!r}")
        n, i = len(self), int(index)
        if not -n <= i < n:
            raise IndexError(
                f"frame index {i} is out of range for a video of {n} frames (valid: {-n}..{n - 1})"
                if n
                else "the video has no frames"
            )
        i %= n
        return self._indices[i] if self._indices is not None else i

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            picked = range(len(self))[index]
            base = self._indices if self._indices is not None else range(self._backend.length)
            return VideoFrames(self._backend, [self.frame_names[i] for i in picked], [base[i] for i in picked])
        return self._backend.get(self._resolve(index))

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(len(self)):
            yield self[i]

    def to_array(self) -> np.ndarray:
        """All frames as one (T, H, W, 3) uint8 array (decodes everything)."""
        out = np.empty((len(self), *self.size, 3), dtype=np.uint8)
        for t, frame in enumerate(self):
            out[t] = frame
        return out

    def close(self) -> None:
        """Release the open file, if any (a later access reopens it)."""
        self._backend.close()

    def __enter__(self) -> VideoFrames:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        h, w = self.size
        fps = "" if self.fps is None else f", fps={self.fps:g}"
        return f"VideoFrames({self.source!r}, frames={len(self)}, size={h}x{w}{fps})"


# ---------------------------------------------------------------------------------------- backends
class _Backend:
    """Where frames come from: ``get(i)`` for 0 <= i < length returns a new HxWx3 uint8 array."""

    length: int
    size: tuple[int, int]
    fps: float | None = None
    source: str
    decoded: int = 0

    def get(self, i: int) -> np.ndarray:
        raise NotImplementedError

    def close(self) -> None:
        pass


class _ArrayBackend(_Backend):
    """Frames held in memory: a (T, H, W, C) array or a list of HxWx3 arrays."""

    def __init__(self, frames: np.ndarray | list[np.ndarray], convert: bool) -> None:
        self.frames, self.convert = frames, convert
        self.length = len(frames)
        self.size = (int(frames[0].shape[0]), int(frames[0].shape[1]))
        self.source = "array"

    def get(self, i: int) -> np.ndarray:
        self.decoded += 1
        frame = self.frames[i]
        if self.convert:
            with warnings.catch_warnings():  # warned once, when the video was opened
                warnings.simplefilter("ignore", ImageConversionWarning)
                return to_rgb_uint8(frame).copy()
        return np.array(frame, dtype=np.uint8, copy=True)


def _read_frame_file(path: Path) -> np.ndarray:
    """One frame file as HxWx3 uint8 RGB (converted as `to_rgb_uint8` converts PIL images)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            return np.array(to_rgb_uint8(img), dtype=np.uint8, copy=True)
    except FileNotFoundError as e:
        raise VideoError(f"Frame file {path} no longer exists.") from e
    except ImageError as e:
        raise VideoError(f"Frame file {path}: {e}") from e
    except (UnidentifiedImageError, OSError, ImportError) as e:
        # ImportError: ultralytics, once imported, patches Image.open to import a HEIF plugin
        # (pi_heif) when PIL cannot identify the file; without that plugin it is still no image
        raise VideoError(f"Frame file {path} cannot be read as an image ({e}).") from e


class _FolderBackend(_Backend):
    """One image file per frame, read on each access."""

    def __init__(self, folder: Path, paths: list[Path], size: tuple[int, int]) -> None:
        self.paths, self.size, self.length = paths, size, len(paths)
        self.source = str(folder)

    def get(self, i: int) -> np.ndarray:
        self.decoded += 1
        frame = _read_frame_file(self.paths[i])
        if frame.shape[:2] != self.size:
            raise VideoError(
                f"Frame file {self.paths[i]} is now {frame.shape[0]}x{frame.shape[1]} "
                f"(HxW), not the video's {self.size[0]}x{self.size[1]}."
            )
        return frame


class _PyAVBackend(_Backend):
    """A video file decoded with PyAV: packet index up front, sequential decoding, small cache.

    Frame ``i`` is the i-th frame in presentation order (packets sorted by timestamp). Asking for a
    frame behind the decoder, or past the next keyframe, seeks to the last keyframe at or before it;
    otherwise the decoder runs forward from where it is (decoded frames on the way are cached).
    """

    def __init__(self, path: Path, cache_size: int = 8) -> None:
        self.path, self.source = path, str(path)
        self.cache_size = max(1, int(cache_size))
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._container: Any = None
        self._decoder: Iterator[Any] | None = None
        self._next = 0  # index of the frame the running decoder yields next
        container = self._open()
        try:
            stream = container.streams.video[0]
            self.fps = _stream_fps(stream)
            pts, keys = [], []
            for packet in container.demux(stream):
                if packet.size == 0:  # flush packet
                    continue
                stamp = packet.pts if packet.pts is not None else packet.dts
                pts.append(stamp)
                keys.append(bool(packet.is_keyframe))
        except VideoError:
            raise
        except Exception as e:  # av.FFmpegError and friends
            self.close()
            raise VideoError(f"Video file {path} cannot be read: {e}") from e
        self.length = len(pts)
        if self.length == 0:
            self.close()
            raise VideoError(f"Video file {path} has no video frames.")
        self._timed = all(p is not None for p in pts) and len(set(pts)) == len(pts)
        if self._timed:
            order = sorted(range(len(pts)), key=lambda j: pts[j])
            self._pts = [pts[j] for j in order]
            self._index = {p: i for i, p in enumerate(self._pts)}
            self._keyframes = sorted(self._index[pts[j]] for j in range(len(pts)) if keys[j])
        else:  # no usable timestamps: count frames in decoding order, restart to go back
            self._pts, self._index, self._keyframes = [], {}, []
        ctx = stream.codec_context
        h, w = int(ctx.height or 0), int(ctx.width or 0)
        if h <= 0 or w <= 0:  # size not in the header: decode the first frame
            h, w = self.get(0).shape[:2]
        self.size = (h, w)

    # ------------------------------------------------------------------ file handling
    def _open(self) -> Any:
        av = require_extra(
            "av", "video", f"Reading the video file {self.path} (frame folders and arrays need nothing more)"
        )

        try:
            container = av.open(str(self.path), mode="r")
        except Exception as e:
            raise VideoError(f"Video file {self.path} cannot be opened as a video: {e}") from e
        if not container.streams.video:
            kinds = sorted({str(s.type) for s in container.streams})
            container.close()
            raise VideoError(
                f"File {self.path} has no video stream"
                + (f" (only {', '.join(kinds)})." if kinds else ": no streams at all (an empty, zero-frame video?).")
            )
        self._container, self._decoder, self._next = container, None, 0
        return container

    def close(self) -> None:
        with getattr(self, "_lock", threading.Lock()):
            if self._container is not None:
                self._container.close()
            self._container, self._decoder, self._next = None, None, 0

    def __getstate__(self) -> dict:  # picklable (e.g. to DataLoader workers): reopen on first use
        state = self.__dict__.copy()
        state.update(_container=None, _decoder=None, _next=0, _lock=None, _cache=OrderedDict())
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __del__(self) -> None:
        try:
            if self._container is not None:
                self._container.close()
        except Exception:
            pass

    # ------------------------------------------------------------------ decoding
    def get(self, i: int) -> np.ndarray:
        with self._lock:
            if i in self._cache:
                self._cache.move_to_end(i)
                return self._cache[i].copy()
            return self._decode_to(i).copy()

    def _restart(self, i: int) -> None:
        """Position the decoder so that it yields frames from the last keyframe <= i."""
        container = self._container if self._container is not None else self._open()
        stream = container.streams.video[0]
        if self._timed and self._keyframes:
            k = self._keyframes[max(bisect.bisect_right(self._keyframes, i) - 1, 0)]
            start = k if self._keyframes[0] <= i else 0
        else:
            start = 0
        try:
            if self._timed and start > 0:
                container.seek(self._pts[start], stream=stream, backward=True, any_frame=False)
            else:
                container.seek(self._pts[0] if self._timed else 0, stream=stream, backward=True)
        except Exception as e:
            raise VideoError(f"Video file {self.path}: seeking to frame {i} failed: {e}") from e
        self._decoder = iter(container.decode(stream))
        self._next = start

    def _needs_seek(self, i: int) -> bool:
        if self._decoder is None or i < self._next:
            return True
        if not self._timed:
            return False
        # a keyframe after the decoder's position and at or before i: jumping there is cheaper
        j = bisect.bisect_right(self._keyframes, i) - 1
        return j >= 0 and self._keyframes[j] > self._next

    def _decode_to(self, i: int) -> np.ndarray:
        if self._needs_seek(i):
            self._restart(i)
        assert self._decoder is not None
        while True:
            try:
                frame = next(self._decoder)
            except StopIteration:
                self._decoder = None
                raise VideoError(
                    f"Video file {self.path}: frame {i} could not be decoded (the "
                    f"stream ended at frame {self._next}; the file may be "
                    "truncated)."
                ) from None
            except Exception as e:
                self._decoder = None
                raise VideoError(f"Video file {self.path}: decoding frame {i} failed: {e}") from e
            if self._timed:
                stamp = frame.pts if frame.pts is not None else getattr(frame, "dts", None)
                t = self._index.get(stamp)
                if t is None or t < self._next:  # a frame before the seek point, or unknown
                    continue
            else:
                t = self._next
            self._next = t + 1
            self.decoded += 1
            if t < i - self.cache_size:  # far before the target: not worth converting
                continue
            array = frame.to_ndarray(format="rgb24")
            self._cache[t] = array
            self._cache.move_to_end(t)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
            if t == i:
                return array
            if t > i:  # frame i is missing from the stream (decoder dropped it)
                raise VideoError(
                    f"Video file {self.path}: frame {i} is missing from the decoded stream (corrupt file?)."
                )


def _stream_fps(stream: Any) -> float | None:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate is not None and float(rate) > 0:
            return float(rate)
    return None


# ---------------------------------------------------------------------------------------- opening
def open_video(source: Any, *, cache_size: int = 8) -> VideoFrames:
    """Frames of ``source`` as lazy `VideoFrames` (HxWx3 uint8 RGB each).

    Args:
        source: a folder of .jpg/.jpeg/.png frames, a video file path (str or Path), a (T, H, W, 3)
            uint8 array ((T, H, W, 1) and (T, H, W, 4) are converted), a list of HxWx3 uint8 arrays
            or PIL images, any other ``Sequence`` of HxWx3 uint8 frames (read lazily, frame ``i``
            when it is needed; only frame 0 is checked up front), or a `VideoFrames` (returned as is).
        cache_size: decoded frames kept for video files (default 8).

    Raises:
        VideoError: missing path, no frames, unreadable or corrupt file, frames of different sizes,
            wrong shape or dtype.
    """
    if isinstance(source, VideoFrames):
        return source
    if isinstance(source, (str, Path)):
        path = Path(source).expanduser()
        if not path.exists():
            raise VideoError(
                f"Video source {str(source)!r} does not exist (expected a video file or a folder of .jpg/.png frames)."
            )
        if path.is_dir():
            return _open_folder(path)
        if path.suffix.lower() in FRAME_EXTENSIONS:
            raise VideoError(
                f"{path} is one image, not a video: pass the folder of frames "
                f"({path.parent}), or open_video([image]) for a one-frame video."
            )
        return VideoFrames(_PyAVBackend(path, cache_size=cache_size))
    if isinstance(source, np.ndarray):
        return _open_array(source)
    if isinstance(source, (list, tuple)):
        return _open_list(list(source))
    if isinstance(source, Sequence) and not isinstance(source, (str, bytes)):  # lazy: frame i made when read
        first = np.asarray(source[0]) if len(source) else None
        if first is None or first.ndim != 3 or first.shape[2] != 3 or first.dtype != np.uint8 or not first.size:
            raise VideoError(
                f"A lazy sequence of frames must hold HxWx3 uint8 RGB frames, got {len(source)} frames, "
                f"frame 0: {None if first is None else (first.shape, str(first.dtype))}."
            )
        return VideoFrames(_ArrayBackend(source, convert=False))  # type: ignore[arg-type]
    raise VideoError(
        f"Cannot open a video from {type(source).__name__}: pass a video file or "
        "frames folder path, a (T, H, W, 3) uint8 array, a list of HxWx3 uint8 arrays "
        "or a VideoFrames."
    )


def _frame_sort_key(names: list[str]) -> Callable[[Path], Any]:
    """sam2's order: by int(stem) when every stem is an integer, else by file name."""
    try:
        for name in names:
            int(name)
    except ValueError:
        return lambda p: p.name
    return lambda p: (int(p.stem), p.name)


def _open_folder(folder: Path) -> VideoFrames:
    from PIL import Image, UnidentifiedImageError

    paths = [
        p
        for p in folder.iterdir()
        if p.suffix.lower() in FRAME_EXTENSIONS and not p.name.startswith(".") and p.is_file()
    ]
    if not paths:
        raise VideoError(f"Folder {folder} has no frames ({', '.join(FRAME_EXTENSIONS)} files).")
    stems = [p.stem for p in paths]
    if len(set(stems)) != len(stems):
        dup = sorted({s for s in stems if stems.count(s) > 1})
        raise VideoError(
            f"Folder {folder}: frame name(s) {dup[:3]} appear with two extensions; keep one file per frame."
        )
    paths.sort(key=_frame_sort_key(stems))
    size = None
    for p in paths:
        try:
            with Image.open(p) as img:
                this = (img.height, img.width)
        except (UnidentifiedImageError, OSError, ImportError) as e:  # ImportError: see _read_frame_file
            raise VideoError(f"Frame file {p} cannot be read as an image ({e}).") from e
        if size is None:
            size, first = this, p
        elif this != size:
            raise VideoError(
                f"Folder {folder}: frame {p.name} is {this[0]}x{this[1]} (HxW) but "
                f"{first.name} is {size[0]}x{size[1]}; all frames must have one size."
            )
    assert size is not None
    return VideoFrames(_FolderBackend(folder, paths, size), [p.stem for p in paths])


def _open_array(frames: np.ndarray) -> VideoFrames:
    if frames.ndim != 4 or frames.shape[3] not in (1, 3, 4):
        hint = (
            " A single HxWx3 image? Pass image[None] for a one-frame video."
            if frames.ndim == 3 and frames.shape[2] in (3, 4)
            else " Grayscale videos: add a channel axis, (T, H, W, 1)."
            if frames.ndim == 3
            else ""
        )
        raise VideoError(
            f"A video array must be (T, H, W, 3) uint8 RGB, got shape {tuple(frames.shape)} dtype {frames.dtype}.{hint}"
        )
    if frames.dtype != np.uint8:
        raise VideoError(
            f"A video array must be uint8 (T, H, W, 3), got shape {tuple(frames.shape)} "
            f"dtype {frames.dtype}; convert it, e.g. (frames * 255).round().clip(0, "
            "255).astype(np.uint8) for floats in [0, 1]."
        )
    if frames.shape[0] == 0:
        raise VideoError(f"The video array has no frames (shape {tuple(frames.shape)}).")
    if frames.shape[1] == 0 or frames.shape[2] == 0:
        raise VideoError(f"The video array has empty frames (shape {tuple(frames.shape)}).")
    convert = frames.shape[3] != 3
    if convert:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ImageConversionWarning)
                to_rgb_uint8(frames[0])
        except ImageError as e:  # pragma: no cover - shape and dtype were checked above
            raise VideoError(f"Video array frames: {e}") from e
        for w in caught:
            warnings.warn(f"Video of {frames.shape[0]} frames: {w.message}", ImageConversionWarning, stacklevel=4)
    return VideoFrames(_ArrayBackend(frames, convert))


def _open_list(frames: list[Any]) -> VideoFrames:
    if not frames:
        raise VideoError("The list of frames is empty.")
    converted = []
    for t, frame in enumerate(frames):
        try:
            rgb = to_rgb_uint8(frame)
        except ImageError as e:
            raise VideoError(
                f"Frame {t} of the list: {e} (got shape "
                f"{getattr(frame, 'shape', None)}, dtype "
                f"{getattr(frame, 'dtype', None)})"
            ) from e
        if converted and rgb.shape != converted[0].shape:
            raise VideoError(
                f"Frame {t} of the list is {rgb.shape[0]}x{rgb.shape[1]} (HxW) but "
                f"frame 0 is {converted[0].shape[0]}x{converted[0].shape[1]}; all "
                "frames must have one size."
            )
        converted.append(rgb)
    return VideoFrames(_ArrayBackend(converted, convert=False))


# ---------------------------------------------------------------------------------------- writing
def _default_codec() -> str:
    av = require_extra("av", "video", "Writing video files (write_frames_folder needs nothing more)")

    for name in ("libx264", "mpeg4"):
        try:
            av.codec.Codec(name, "w")
            return name
        except Exception:
            continue
    raise VideoError("PyAV's ffmpeg has neither the libx264 nor the mpeg4 encoder.")


def write_video(
    path: str | Path,
    frames: Any,
    fps: float = 24,
    codec: str | None = None,
    *,
    crf: int = 18,
    keyframe_interval: int | None = None,
) -> Path:
    """Write ``frames`` (any `open_video` source) to a video file (mp4) with PyAV; returns the path.

    Args:
        path: the file to write (its folder is created); the suffix picks the container.
        frames: T frames of one size, HxWx3 uint8 RGB. H and W must be even (yuv420p): other sizes
            raise `VideoError` (crop or pad the frames, or use `write_frames_folder`).
        fps: frames per second (float; stored as a fraction, e.g. 29.97 -> 2997/100).
        codec: an encoder of PyAV's ffmpeg; default ``"libx264"`` if present, else ``"mpeg4"``.
        crf: libx264 quality (0 lossless-ish .. 51 worst; 18 is visually close). Other codecs get
            a high bit rate instead.
        keyframe_interval: at most this many frames between keyframes (the encoder's GOP size;
            default: the codec's, 250 for libx264). Smaller: faster random access, larger file.

    The codecs are lossy and yuv420p halves the colour resolution: frames read back differ
    slightly from ``frames`` (more for pixel-level colour noise than for smooth images).
    """
    av = require_extra("av", "video", "Writing video files (write_frames_folder needs nothing more)")
    video = open_video(frames)
    h, w = video.size
    if h % 2 or w % 2:
        raise VideoError(
            f"write_video needs even frame sizes (yuv420p), got {h}x{w} (HxW); crop or "
            "pad the frames to even H and W, or write a frames folder instead."
        )
    if keyframe_interval is not None and (
        isinstance(keyframe_interval, bool) or not isinstance(keyframe_interval, int) or keyframe_interval < 1
    ):
        raise VideoError(f"keyframe_interval must be an int >= 1, got {keyframe_interval!r}")
    if not fps or fps <= 0:
        raise VideoError(f"fps must be > 0, got {fps!r}")
    codec = codec or _default_codec()
    rate = Fraction(fps).limit_denominator(1001)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with av.open(str(path), mode="w") as container:
            stream = container.add_stream(codec, rate=rate)
            stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
            if keyframe_interval is not None:
                stream.codec_context.gop_size = int(keyframe_interval)
            if codec == "libx264":
                stream.options = {"crf": str(int(crf))}
            else:
                stream.bit_rate = max(2_000_000, int(h * w * float(rate) * 2))
            for frame in video:
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
    except VideoError:
        raise
    except Exception as e:
        raise VideoError(f"Writing {path} with codec {codec!r} failed: {e}") from e
    return path


def write_frames_folder(
    folder: str | Path, frames: Any, ext: str = "jpg", *, quality: int = 95, overwrite: bool = False
) -> Path:
    """Write ``frames`` (any `open_video` source) as ``folder/00000.<ext>``, ``00001.<ext>``, ...
    (sam2's frames-folder layout); returns the folder.

    ``ext``: ``"jpg"`` (JPEG at ``quality``, 4:4:4 chroma; lossy) or ``"png"`` (exact). A folder that already
    holds frame files raises `VideoError` unless ``overwrite`` (then files of the same names are
    replaced; other frame files there still raise, since they would join the video).
    """
    from PIL import Image

    ext = ext.lower().lstrip(".")
    if f".{ext}" not in FRAME_EXTENSIONS:
        raise VideoError(f"ext must be one of {[e[1:] for e in FRAME_EXTENSIONS]}, got {ext!r}")
    video = open_video(frames)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = {f"{t:05d}.{ext}" for t in range(len(video))}
    existing = {p.name for p in folder.iterdir() if p.suffix.lower() in FRAME_EXTENSIONS}
    stale = existing - names if overwrite else existing
    if stale:
        raise VideoError(
            f"Folder {folder} already holds frame files ({sorted(stale)[:3]}...); "
            "write to an empty folder" + ("." if overwrite else " or pass overwrite=True.")
        )
    options = {"quality": int(quality), "subsampling": 0} if ext in ("jpg", "jpeg") else {}
    for t, frame in enumerate(video):
        Image.fromarray(frame).save(folder / f"{t:05d}.{ext}", **options)
    return folder
