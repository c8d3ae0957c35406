"""egoflow: procedure-aware egocentric video representations, from raw videos to evaluated models."""

__version__ = "0.1.0"
