"""Datasets and sample images.

Every dataset is an iterable of `Sample` (`DavisDataset`: of `VideoSample`) with ``len()`` (images
after subsampling), ``name``, ``image_ids``, ``skipped_images`` (images that could not be used, with
reasons) and ``dataset[i]``. Common options: ``max_images``, ``max_objects`` (per image), ``seed``
(reproducible subsampling, by sorted id), ``min_area`` (pixels; smaller objects are skipped as
"tiny") and, for COCO-format data, ``skip_crowd``. Images are read only when their sample is
produced.
"""

from samkit.data.coco import CocoDataset, Sa1bDataset
from samkit.data.davis import DavisDataset
from samkit.data.folder import FolderDataset
from samkit.data.sample import Sample, VideoSample
from samkit.data.synthetic import SyntheticDataset

__all__ = [
    "Sample", "VideoSample", "CocoDataset", "Sa1bDataset", "FolderDataset", "DavisDataset",
    "SyntheticDataset",
]
