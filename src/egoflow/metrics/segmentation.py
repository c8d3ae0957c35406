"""Temporal action segmentation scores exactly as MS-TCN's evaluation: Acc, Edit, F1@{10,25,50}."""

from __future__ import annotations

__all__: list[str] = []
