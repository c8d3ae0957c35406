"""Frame-wise representation metrics (CARL, AE2): phase classification, progression, Kendall's tau, retrieval."""

from __future__ import annotations

__all__: list[str] = []
