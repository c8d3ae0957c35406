"""Load the native pickle formats (EPIC relevancy matrix, CARL phase labels) without running arbitrary code.

Why: `pickle.load` calls whatever callable the file names, so a downloaded or shared annotation pickle could
run code on the cluster. These files only ever hold numpy arrays inside builtin containers, so the unpickler
below resolves only the handful of numpy and builtin names such data needs, and refuses everything else
(pandas objects, torch tensors, arbitrary classes) with an InputError naming the file and the refused name.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from egoflow.errors import InputError

# (module, name) pairs a pickle of numpy arrays in lists/dicts/tuples can reference, for numpy 1.x and 2.x.
ALLOWED = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),  # protocol 2 stores array bytes as latin-1 text
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "bytearray"),
    ("builtins", "complex"),
    ("collections", "OrderedDict"),
}


class NumpyOnlyUnpickler(pickle.Unpickler):
    def __init__(self, handle, path: Path):
        super().__init__(handle)
        self.path = path

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED:
            raise InputError(
                self.path,
                f"refusing to unpickle {module}.{name}: only numpy arrays in lists, dicts and tuples are allowed "
                "(convert torch tensors or pandas objects to numpy arrays first)",
            )
        if module.startswith("numpy.core."):
            module = "numpy._core." + module.removeprefix("numpy.core.")  # numpy >= 2 moved numpy.core
            try:
                return super().find_class(module, name)
            except (ImportError, AttributeError):
                module = "numpy.core." + module.removeprefix("numpy._core.")
        elif module.startswith("numpy._core."):
            try:
                return super().find_class(module, name)
            except (ImportError, AttributeError):  # numpy 1.x reading a numpy 2 pickle
                module = "numpy.core." + module.removeprefix("numpy._core.")
        return super().find_class(module, name)


def load_pickle(path: str | Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    with open(path, "rb") as handle:
        try:
            return NumpyOnlyUnpickler(handle, path).load()
        except InputError:
            raise
        except Exception as error:  # truncated or corrupt files raise many different types
            raise InputError(path, f"not a readable pickle: {type(error).__name__}: {error}") from None
