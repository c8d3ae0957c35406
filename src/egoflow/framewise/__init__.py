"""Frame-wise representations: CARL training (views, augmentations), frame features from any encoder, the AE2 /
CARL evaluation protocols, temporal action segmentation with ASFormer, and their figures.

Scoring lives in `egoflow.metrics` (framewise, segmentation); the one training loop is `egoflow.train.train`.
"""
