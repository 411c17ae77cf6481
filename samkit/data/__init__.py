"""Datasets and sample images.

Every dataset is an iterable of `Sample` (the video datasets `DavisDataset`, `SavDataset`,
`MoseDataset`, `Mosev2Dataset`, `YouTubeVOSDataset` and `LvosDataset`: of `VideoSample`) with
``len()`` (images after subsampling), ``name``, ``image_ids``, ``skipped_images`` (images that could
not be used, with reasons) and ``dataset[i]``. Common options: ``max_images``, ``max_objects`` (per
image), ``seed`` (reproducible subsampling, by sorted id), ``min_area`` (pixels; smaller objects are
skipped as "tiny") and, for COCO-format data, ``skip_crowd``. Images are read only when their sample
is produced. Paths read from dataset files (annotation jsons, split files, folder listings) must
stay inside the dataset's root, symlinks followed; any other is a `samkit.errors.DatasetError`.

Video input: `open_video` gives lazy `VideoFrames` (HxWx3 uint8 RGB) from a frames folder, a video
file (PyAV), an array or a list; `moving_shapes` makes synthetic videos with exact mask tracks and
`write_davis` writes them in the DAVIS 2017 layout.
"""

from samkit.data.click_benchmarks import CLICK_BENCHMARKS, ClickBenchmark, ClickLayout
from samkit.data.coco import CocoDataset, Sa1bDataset
from samkit.data.davis import DavisDataset
from samkit.data.folder import FolderDataset
from samkit.data.lvos import LvosDataset
from samkit.data.mose import MoseDataset, Mosev2Dataset
from samkit.data.saco import SACO_GOLD_SUBSETS, SACO_SILVER_SUBSETS, SacoDataset, saco_gt_files
from samkit.data.saco_veval import SacoVEvalDataset, SacoVideo
from samkit.data.sample import Sample, VideoSample
from samkit.data.sav import SavDataset
from samkit.data.shard import Shard, apply_shard, parse_shard
from samkit.data.synthetic import SyntheticDataset
from samkit.data.synthetic_video import SyntheticVideo, moving_shapes, write_davis
from samkit.data.youtube_vos import YouTubeVOSDataset
from samkit.video_io import VideoFrames, open_video, write_frames_folder, write_video

__all__ = [
    "Sample",
    "VideoSample",
    "CocoDataset",
    "Sa1bDataset",
    "FolderDataset",
    "DavisDataset",
    "SavDataset",
    "MoseDataset",
    "Mosev2Dataset",
    "YouTubeVOSDataset",
    "LvosDataset",
    "SyntheticDataset",
    # video input (samkit.video_io) and synthetic videos (samkit.data.synthetic_video)
    "VideoFrames",
    "open_video",
    "write_video",
    "write_frames_folder",
    "SyntheticVideo",
    "moving_shapes",
    "write_davis",
    # click benchmarks in RITM's layouts (samkit.data.click_benchmarks)
    "ClickBenchmark",
    "ClickLayout",
    "CLICK_BENCHMARKS",
    # SA-Co/Gold and Silver in their official layout (samkit.data.saco)
    "SacoDataset",
    "saco_gt_files",
    "SACO_GOLD_SUBSETS",
    "SACO_SILVER_SUBSETS",
    # SA-Co/VEval in its official layout (samkit.data.saco_veval)
    "SacoVEvalDataset",
    "SacoVideo",
    # shards of any loader (samkit.data.shard)
    "Shard",
    "parse_shard",
    "apply_shard",
]
