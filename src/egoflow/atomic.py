"""Outputs are never half-written: write to a temporary sibling, then rename into place.

A killed job leaves only `<name>.tmp-<pid>` files behind, which no rule declares and no reader trusts.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path


def temporary_sibling(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success rename it to `path`, on failure remove it.

    Works for files and for directories (a directory is replaced as a whole).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    _remove(tmp)
    try:
        yield tmp
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", **open_kwargs) -> Iterator:
    """`open()` for writing whose result appears at `path` only when the block succeeds."""
    if "b" not in mode:
        open_kwargs.setdefault("encoding", "utf-8")
        open_kwargs.setdefault("newline", "")
    with atomic_path(path) as tmp, open(tmp, mode, **open_kwargs) as handle:
        yield handle


def write_text(path: str | Path, text: str) -> None:
    """Write `text` (UTF-8) to `path` atomically."""
    with atomic_write(path) as handle:
        handle.write(text)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


class AtomicWriter:
    """Base of the store writers: everything goes into `self._tmp`; the output appears at `path` only when
    `close()` succeeds. Use as a context manager; an exception or a failed close leaves nothing behind.

    Subclasses implement `_finish()` (write the last bytes, close their handles) and `_release()` (close their
    handles after a failure).
    """

    def __init__(self, path: str | Path):
        self._atomic = atomic_path(path)
        self._tmp = self._atomic.__enter__()

    def _finish(self) -> None:
        raise NotImplementedError

    def _release(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._finish()
        self._atomic.__exit__(None, None, None)

    def abort(self, exc: BaseException) -> None:
        self._release()
        self._atomic.__exit__(type(exc), exc, exc.__traceback__)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is not None:
            self.abort(exc)
            return
        try:
            self.close()
        except (
            BaseException
        ) as error:  # a failed close (short write, full disk) must not leave the temp behind
            self.abort(error)
            raise
