"""Action anticipation metrics: class-mean recall@k, score marginalisation, Ego4D LTA edit distance."""

from __future__ import annotations

__all__: list[str] = []
