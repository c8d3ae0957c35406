"""Object-state metrics of ChangeIt: state and action precision@1."""

from __future__ import annotations

__all__: list[str] = []
