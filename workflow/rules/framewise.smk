# Frame-wise representations: frame features, CARL, AE2, temporal action segmentation.
