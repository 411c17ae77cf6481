"""samkit.video_io: every source (array, list, folder, video files), lazy decoding, random vs
sequential access, writing, and every bad input."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from samkit.data import VideoFrames, open_video, write_frames_folder, write_video
from samkit.errors import ImageConversionWarning, SamkitError, VideoError, failure_status

T, H, W = 12, 64, 96


def smooth_frames(t: int = T, h: int = H, w: int = W) -> np.ndarray:
    """(t, h, w, 3) uint8: smooth moving gradients (a lossy codec keeps them close)."""
    yy, xx = np.mgrid[:h, :w]
    return np.stack(
        [
            np.stack([(yy * 3 + 7 * i) % 256, (xx * 2 + 3 * i) % 256, np.full((h, w), 15 * i % 256)], axis=2)
            for i in range(t)
        ]
    ).astype(np.uint8)


def has_encoder(name: str) -> bool:
    import av

    try:
        av.codec.Codec(name, "w")
        return True
    except Exception:
        return False


@pytest.fixture(scope="module")
def mp4(tmp_path_factory) -> Path:
    """16 frames, a keyframe at least every 4 frames (so random access has to seek)."""
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    return write_video(path, smooth_frames(16), fps=24, keyframe_interval=4)


# ------------------------------------------------------------------------------ arrays and lists
def test_array_source():
    arr = smooth_frames()
    frames = open_video(arr)
    assert isinstance(frames, VideoFrames) and open_video(frames) is frames
    assert len(frames) == T and frames.size == (H, W) and frames.fps is None
    assert frames.source == "array" and frames.frame_names == [f"{i:05d}" for i in range(T)]
    np.testing.assert_array_equal(frames[3], arr[3])
    np.testing.assert_array_equal(frames[-1], arr[-1])
    np.testing.assert_array_equal(np.stack(list(frames)), arr)
    np.testing.assert_array_equal(frames.to_array(), arr)
    out = frames[0]
    out[:] = 0  # a fresh array: the source is untouched
    assert arr[0].any() and frames[0].any()


def test_index_errors_and_slices():
    frames = open_video(smooth_frames())
    with pytest.raises(IndexError, match=r"frame index 12 .* 12 frames \(valid: -12\.\.11\)"):
        frames[T]
    with pytest.raises(IndexError, match="-13"):
        frames[-T - 1]
    with pytest.raises(TypeError):
        frames["1"]
    part = frames[2:8:2]
    assert isinstance(part, VideoFrames) and len(part) == 3
    assert part.frame_names == ["00002", "00004", "00006"]
    np.testing.assert_array_equal(part[-1], smooth_frames()[6])
    assert len(part[1:]) == 2 and part[1:].frame_names == ["00004", "00006"]


def test_array_is_lazy():
    frames = open_video(smooth_frames())
    assert frames.num_decoded == 0
    frames[5]
    assert frames.num_decoded == 1


@pytest.mark.parametrize("channels", [1, 4])
def test_array_grayscale_and_rgba_converted(channels):
    arr = smooth_frames()
    src = arr[..., :1] if channels == 1 else np.concatenate([arr, np.full((T, H, W, 1), 7, np.uint8)], axis=3)
    with pytest.warns(ImageConversionWarning, match="converted"):
        frames = open_video(src)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once, at open, not per frame
        frame = frames[2]
    assert frame.shape == (H, W, 3) and frame.dtype == np.uint8
    expected = np.repeat(arr[2, :, :, :1], 3, axis=2) if channels == 1 else arr[2]
    np.testing.assert_array_equal(frame, expected)


def test_list_source_with_conversions():
    arr = smooth_frames(4)
    items = [arr[0], arr[1, :, :, 0], Image.fromarray(arr[2]), np.asfortranarray(arr[3])]
    with pytest.warns(ImageConversionWarning):
        frames = open_video(items)
    assert len(frames) == 4 and frames.size == (H, W) and frames.source == "array"
    np.testing.assert_array_equal(frames[0], arr[0])
    np.testing.assert_array_equal(frames[1], np.repeat(arr[1, :, :, :1], 3, axis=2))
    np.testing.assert_array_equal(frames[2], arr[2])
    np.testing.assert_array_equal(frames[3], arr[3])


# ------------------------------------------------------------------------------ folders
def test_folder_round_trip_png_is_exact(tmp_path):
    arr = smooth_frames()
    folder = write_frames_folder(tmp_path / "f", arr, ext="png")
    assert sorted(p.name for p in folder.iterdir()) == [f"{i:05d}.png" for i in range(T)]
    frames = open_video(folder)
    assert len(frames) == T and frames.size == (H, W) and frames.fps is None
    assert frames.source == str(folder) and frames.frame_names == [f"{i:05d}" for i in range(T)]
    np.testing.assert_array_equal(frames.to_array(), arr)


def test_folder_jpg_is_close(tmp_path):
    arr = smooth_frames(4)
    frames = open_video(write_frames_folder(tmp_path / "f", arr))  # jpg, quality 95
    assert np.abs(frames.to_array().astype(int) - arr).mean() < 3


def test_folder_reads_one_file_per_access(tmp_path, monkeypatch):
    import samkit.video_io as video

    folder = write_frames_folder(tmp_path / "f", smooth_frames(), ext="png")
    reads = []
    original = video._read_frame_file
    monkeypatch.setattr(video, "_read_frame_file", lambda p: reads.append(p) or original(p))
    frames = open_video(folder)
    assert reads == [] and frames.num_decoded == 0  # sizes come from the headers
    frames[4]
    frames[-1]
    assert [p.name for p in reads] == ["00004.png", "00011.png"] and frames.num_decoded == 2


def test_folder_order_as_sam2(tmp_path):
    arr = smooth_frames(12)
    numeric = tmp_path / "numeric"
    numeric.mkdir()
    for i in range(12):  # 0.jpg, 1.jpg, ..., 11.jpg: by int(stem), not "10" < "2"
        Image.fromarray(arr[i]).save(numeric / f"{i}.png")
    (numeric / ".hidden.png").write_bytes(b"not an image")
    (numeric / "notes.txt").write_text("ignored")
    frames = open_video(numeric)
    assert frames.frame_names == [str(i) for i in range(12)]
    np.testing.assert_array_equal(frames[10], arr[10])

    named = tmp_path / "named"
    named.mkdir()
    for name, i in (("b_10", 0), ("a_2", 1), ("b_9", 2)):
        Image.fromarray(arr[i]).save(named / f"{name}.png")
    assert open_video(named).frame_names == ["a_2", "b_10", "b_9"]  # not all ints: by name


def test_folder_grayscale_frames_converted(tmp_path):
    folder = tmp_path / "gray"
    folder.mkdir()
    gray = smooth_frames(2)[..., 0]
    for i in range(2):
        Image.fromarray(gray[i]).save(folder / f"{i:05d}.png")  # mode L
    frames = open_video(folder)
    with pytest.warns(ImageConversionWarning):
        frame = frames[1]
    np.testing.assert_array_equal(frame, np.repeat(gray[1][..., None], 3, axis=2))


def test_write_frames_folder_refuses_existing_frames(tmp_path):
    arr = smooth_frames(3)
    folder = write_frames_folder(tmp_path / "f", arr, ext="png")
    with pytest.raises(VideoError, match="already holds frame files"):
        write_frames_folder(folder, arr, ext="png")
    write_frames_folder(folder, arr[::-1], ext="png", overwrite=True)
    np.testing.assert_array_equal(open_video(folder)[0], arr[2])
    with pytest.raises(VideoError, match="already holds"):  # stale 00002.png would join
        write_frames_folder(folder, arr[:2], ext="jpg", overwrite=True)
    with pytest.raises(VideoError, match="ext must be one of"):
        write_frames_folder(tmp_path / "g", arr, ext="gif")


# ------------------------------------------------------------------------------ video files
def test_mp4_round_trip(tmp_path):
    arr = smooth_frames()
    path = write_video(tmp_path / "out" / "v.mp4", arr, fps=24)
    assert path == tmp_path / "out" / "v.mp4" and path.is_file()
    frames = open_video(path)
    assert len(frames) == T and frames.size == (H, W) and frames.fps == pytest.approx(24)
    assert frames.source == str(path) and frames.frame_names == [f"{i:05d}" for i in range(T)]
    decoded = frames.to_array()
    assert decoded.shape == arr.shape and decoded.dtype == np.uint8
    assert np.abs(decoded.astype(int) - arr).mean() < 4  # lossy codec, smooth frames


def test_fractional_fps(tmp_path):
    frames = open_video(write_video(tmp_path / "v.mp4", smooth_frames(4), fps=29.97))
    assert frames.fps == pytest.approx(29.97, abs=1e-3)


def test_mp4_decodes_lazily_in_order(mp4):
    frames = open_video(mp4)
    assert frames.num_decoded == 0 and len(frames) == 16  # the packet index needs no decoding
    frames[0]
    assert frames.num_decoded == 1
    frames[0]  # cached
    frames[1]
    assert frames.num_decoded == 2
    for _ in frames:
        pass
    assert frames.num_decoded == 16  # sequential: each frame decoded once


def test_mp4_random_access_equals_sequential(mp4):
    sequential = open_video(mp4).to_array()
    frames = open_video(mp4, cache_size=2)
    assert len(frames._backend._keyframes) > 1  # the test exercises seeking to keyframes
    order = list(np.random.default_rng(0).permutation(16)) + [15, 0, 14, 1, 8, 7, 3, 12, 12, -1]
    for i in order:
        np.testing.assert_array_equal(frames[int(i)], sequential[int(i)], err_msg=f"frame {i}")
    np.testing.assert_array_equal(np.stack(list(reversed(frames))), sequential[::-1])


@pytest.mark.parametrize("codec, suffix", [("mpeg4", ".avi"), ("libx264", ".mkv"), ("libx264", ".mov")])
def test_other_containers(tmp_path, codec, suffix):
    if not has_encoder(codec):
        pytest.skip(f"PyAV has no {codec} encoder")
    arr = smooth_frames()
    path = write_video(tmp_path / f"v{suffix}", arr, fps=10, codec=codec, keyframe_interval=3)
    sequential = open_video(path).to_array()
    assert sequential.shape == arr.shape and np.abs(sequential.astype(int) - arr).mean() < 6
    frames = open_video(path)
    assert frames.fps == pytest.approx(10)
    for i in (11, 2, 7, 0, 5, 10, 1):
        np.testing.assert_array_equal(frames[i], sequential[i])


def test_video_slice_pickle_and_close(mp4):
    frames = open_video(mp4)
    expected = frames[5]
    part = frames[4:8]
    np.testing.assert_array_equal(part[1], expected)
    clone = pickle.loads(pickle.dumps(frames))
    np.testing.assert_array_equal(clone[5], expected)
    frames.close()  # a later access reopens the file
    np.testing.assert_array_equal(frames[5], expected)
    with open_video(mp4) as again:
        assert len(again) == 16


# ------------------------------------------------------------------------------ bad input
def test_video_error_type():
    err = VideoError("x")
    assert isinstance(err, SamkitError) and isinstance(err, ValueError)
    assert failure_status(err) == "error"


def test_missing_path(tmp_path):
    with pytest.raises(VideoError, match="does not exist"):
        open_video(tmp_path / "nope.mp4")


def test_single_image_path(tmp_path):
    Image.fromarray(smooth_frames(1)[0]).save(tmp_path / "00000.jpg")
    with pytest.raises(VideoError, match="is one image, not a video: pass the folder"):
        open_video(tmp_path / "00000.jpg")


def test_empty_folder_and_folder_without_frames(tmp_path):
    with pytest.raises(VideoError, match="has no frames"):
        open_video(tmp_path)
    (tmp_path / "readme.txt").write_text("x")
    (tmp_path / ".00000.jpg").write_bytes(b"")
    with pytest.raises(VideoError, match=r"has no frames \(\.jpg"):
        open_video(tmp_path)


def test_folder_frames_of_different_sizes(tmp_path):
    Image.fromarray(smooth_frames(1)[0]).save(tmp_path / "00000.png")
    Image.fromarray(smooth_frames(1, 32, 48)[0]).save(tmp_path / "00001.png")
    with pytest.raises(VideoError, match=r"00001\.png is 32x48 \(HxW\) but 00000\.png is 64x96"):
        open_video(tmp_path)


def test_folder_corrupt_frame_and_duplicate_stems(tmp_path):
    Image.fromarray(smooth_frames(1)[0]).save(tmp_path / "00000.png")
    (tmp_path / "00001.jpg").write_bytes(b"garbage")
    with pytest.raises(VideoError, match="00001.jpg cannot be read"):
        open_video(tmp_path)
    (tmp_path / "00001.jpg").unlink()
    Image.fromarray(smooth_frames(1)[0]).save(tmp_path / "00000.jpg")
    with pytest.raises(VideoError, match="two extensions"):
        open_video(tmp_path)


def test_zero_frame_video(tmp_path):
    import av

    path = tmp_path / "empty.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        container.start_encoding()  # header, no frames
    with pytest.raises(VideoError, match=f"{path}.*(no video|no streams|no frames)"):
        open_video(path)


@pytest.mark.parametrize("content", ["random", "truncated"])
def test_corrupt_video_file(tmp_path, mp4, content):
    path = tmp_path / "bad.mp4"
    data = mp4.read_bytes()
    path.write_bytes(np.random.default_rng(0).bytes(4096) if content == "random" else data[: len(data) // 2])
    with pytest.raises(VideoError, match=f"{path}") as info:
        open_video(path).to_array()
    assert info.value.__cause__ is not None  # PyAV's error, chained


@pytest.mark.parametrize(
    "array, pattern",
    [
        (np.zeros((4, 8, 8, 3), np.float32), r"shape \(4, 8, 8, 3\) dtype float32"),
        (np.zeros((4, 8, 8, 3), np.uint16), r"shape \(4, 8, 8, 3\) dtype uint16"),
        (np.zeros((8, 8, 3), np.uint8), r"shape \(8, 8, 3\) dtype uint8.*image\[None\]"),
        (np.zeros((4, 8, 8), np.uint8), r"shape \(4, 8, 8\).*\(T, H, W, 1\)"),
        (np.zeros((4, 8, 8, 2), np.uint8), r"shape \(4, 8, 8, 2\)"),
        (np.zeros((1, 4, 8, 8, 3), np.uint8), r"shape \(1, 4, 8, 8, 3\)"),
        (np.zeros((0, 8, 8, 3), np.uint8), "no frames"),
        (np.zeros((2, 0, 8, 3), np.uint8), "empty frames"),
    ],
)
def test_bad_arrays(array, pattern):
    with pytest.raises(VideoError, match=pattern):
        open_video(array)


def test_bad_lists_and_types():
    arr = smooth_frames(2)
    with pytest.raises(VideoError, match="empty"):
        open_video([])
    with pytest.raises(VideoError, match=r"Frame 1 of the list is 32x48 \(HxW\) but frame 0 is 64x96"):
        open_video([arr[0], smooth_frames(1, 32, 48)[0]])
    with pytest.raises(VideoError, match=r"Frame 1 of the list: .*float32"):
        open_video([arr[0], arr[1].astype(np.float32)])
    with pytest.raises(VideoError, match="Cannot open a video from int"):
        open_video(5)


def test_write_video_bad_input(tmp_path):
    with pytest.raises(VideoError, match=r"even frame sizes .* 63x96"):
        write_video(tmp_path / "v.mp4", smooth_frames(2, 63, 96))
    with pytest.raises(VideoError, match="fps must be > 0"):
        write_video(tmp_path / "v.mp4", smooth_frames(2), fps=0)
    with pytest.raises(VideoError, match="keyframe_interval"):
        write_video(tmp_path / "v.mp4", smooth_frames(2), keyframe_interval=0)
    with pytest.raises(VideoError, match="no-such-codec"):
        write_video(tmp_path / "v.mp4", smooth_frames(2), codec="no-such-codec")
