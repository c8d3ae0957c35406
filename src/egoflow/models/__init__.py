"""Models: the space-time video transformer, the clip aggregator, the counterfactual pretraining model, and
initialisation from real checkpoints. One readable file per model, a config dataclass each."""

from egoflow.models.aggregator import Aggregator, AggregatorConfig
from egoflow.models.counterfactual import CounterfactualModel, CounterfactualModelConfig, Embeddings
from egoflow.models.pretrained import LoadReport, detect_source, load_pretrained
from egoflow.models.video_transformer import VideoTransformer, VideoTransformerConfig, flops_per_clip

__all__ = [
    "Aggregator",
    "AggregatorConfig",
    "CounterfactualModel",
    "CounterfactualModelConfig",
    "Embeddings",
    "LoadReport",
    "VideoTransformer",
    "VideoTransformerConfig",
    "detect_source",
    "flops_per_clip",
    "load_pretrained",
]
