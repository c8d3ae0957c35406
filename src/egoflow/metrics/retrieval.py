"""Retrieval and recognition metrics: EPIC-100 multi-instance retrieval (mAP, nDCG), Charades-Ego mAP."""

from __future__ import annotations

__all__: list[str] = []
