"""Object state changes: the multi-task ChangeIt pipeline (object-states digest, section A).

- `constraint`: `ordering_constraint` (the pseudo-labelling argmax, O(T)) and its exhaustive reference;
- `targets`: noise-adaptive video weights, the pseudo-labelled frames of a training step;
- `data`: 1 fps frames from the video stage's chunks, crops, the video dataset;
- `run`: the training wrapper for `egoflow.train.train`, the per-group optimiser, `python -m egoflow.states.run`;
- `inference`: `predict(video_path, model_path)`, predictions of the annotated videos, the evaluation;
- `cli`: `egoflow states-predict`.
"""

from egoflow.states.constraint import DEFAULT_MAX_GAP, exhaustive_ordering, ordering_constraint
from egoflow.states.targets import pseudo_targets, video_weight, video_weights

__all__ = [
    "DEFAULT_MAX_GAP",
    "exhaustive_ordering",
    "ordering_constraint",
    "predict",
    "pseudo_targets",
    "video_weight",
    "video_weights",
]


def predict(video_path, model_path, category=None, device="cpu"):
    """Per-second state and action probabilities of a video (see egoflow.states.inference.predict)."""
    from egoflow.states.inference import predict as _predict

    return _predict(video_path, model_path, category, device)
