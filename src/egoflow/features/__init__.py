"""Feature stores: text features and prototypes in HDF5, visual features in RULSTM/AVT-layout LMDB.

- `hdf5_store`: [N, D] text features with a text-hash -> row index.
- `lmdb_store`: RULSTM/AVT frame-feature LMDBs (`{video}_frame_{frame:010d}.jpg` -> float32 bytes).
- `window`: the feature-window reader (video, end time, observed seconds, fps) -> [T, D].
- `text_encoder`, `language_prototypes`, `sentences`: frozen text encoders and S-GEAR language prototypes.
- `visual_backbone`, `visual_features`, `visual_prototypes`: frozen image backbones, per-frame features, prototypes.
- `tiny_models`: tiny random-weight local models for tests and the demo (nothing is ever downloaded).
"""

from egoflow.features.hdf5_store import TextFeatureStore, text_key, write_text_features
from egoflow.features.lmdb_store import LmdbFeatureWriter, frame_key, open_lmdb_readonly
from egoflow.features.window import FeatureWindowReader, window_frames

__all__ = [
    "FeatureWindowReader",
    "LmdbFeatureWriter",
    "TextFeatureStore",
    "frame_key",
    "open_lmdb_readonly",
    "text_key",
    "window_frames",
    "write_text_features",
]
