"""safe_open, compatible with ``safetensors.safe_open``: switch by changing the import."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from . import _native
from ._tensors import convert, normalize_framework, numpy_dtype
from .errors import SafetensorsError


class safe_open:  # noqa: N801 (safetensors' name)
    """A safetensors file, read with positional reads (no mapping, no whole-file read).

    ``framework`` is "pt" (torch tensors) or "np" (NumPy arrays). BF16 and FP8
    come back as torch.bfloat16 / torch.float8_* under "pt" (uint8 where torch
    has no float8, as torch 1.13), as uint16 / uint8 arrays of their bits under
    "np"; :meth:`get_dtype` names the stored dtype. ``device`` other than "cpu"
    moves each torch tensor there after reading.
    """

    def __init__(self, filename: Union[str, os.PathLike], framework: str = "pt", device: str = "cpu"):
        self._framework = normalize_framework(framework)
        self._device = str(device)
        if self._framework == "np" and self._device != "cpu":
            raise ValueError("framework 'np' reads to the CPU only")
        self._file = _native.NativeSafeFile.open(os.fspath(filename))

    def __enter__(self) -> "safe_open":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def keys(self) -> List[str]:
        """Tensor names, sorted (as safetensors returns them)."""
        return sorted(self._file.keys())

    def offset_keys(self) -> List[str]:
        """Tensor names in file order."""
        return self._file.keys()

    def metadata(self) -> Optional[Dict[str, str]]:
        """The header's ``__metadata__``, or None when it has none."""
        return self._file.metadata() or None

    def get_dtype(self, name: str) -> str:
        """The stored safetensors dtype ("BF16", "F8_E4M3", ...)."""
        return self._file.info(name)[0]

    def get_tensor(self, name: str) -> Any:
        dtype, shape = self._file.info(name)
        raw = self._file.read(name)
        return convert(_shaped(raw, dtype, shape), dtype, self._framework, self._device)

    def get_slice(self, name: str) -> "SafeSlice":
        dtype, shape = self._file.info(name)
        return SafeSlice(self, name, dtype, shape)


def _shaped(raw: np.ndarray, dtype: str, shape: List[int]) -> np.ndarray:
    if dtype in ("F4", "F6_E2M3", "F6_E3M2"):
        return raw  # packed: the bytes as they are
    return raw.view(numpy_dtype(dtype)).reshape(shape)


class SafeSlice:
    """One tensor, read lazily: ``[...]`` reads only the bytes the selection covers."""

    def __init__(self, owner: safe_open, name: str, dtype: str, shape: List[int]):
        self._owner, self._name, self._dtype, self._shape = owner, name, dtype, list(shape)

    def get_shape(self) -> List[int]:
        return list(self._shape)

    def get_dtype(self) -> str:
        return self._dtype

    def __getitem__(self, key: Any) -> Any:
        dims, out_shape = _selection(key, self._shape, self._name)
        raw = self._owner._file.read_slice(self._name, dims)
        array = raw.view(numpy_dtype(self._dtype)).reshape(out_shape)
        return convert(array, self._dtype, self._owner._framework, self._owner._device)


def _selection(key: Any, shape: List[int], name: str) -> Tuple[List[Tuple[int, int, int]], List[int]]:
    """(start, count, step) per dim, and the result's shape (integer indices drop their dim)."""
    items = list(key) if isinstance(key, tuple) else [key]
    if any(item is Ellipsis for item in items):
        at = items.index(Ellipsis)
        items[at:at + 1] = [slice(None)] * (len(shape) - len(items) + 1)
    if len(items) > len(shape):
        raise SafetensorsError(f"tensor '{name}' has {len(shape)} dims, the index names {len(items)}", "invalid_input")
    items += [slice(None)] * (len(shape) - len(items))
    dims, out_shape = [], []
    for k, (item, size) in enumerate(zip(items, shape)):
        if isinstance(item, slice):
            start, stop, step = item.indices(size)
            if step < 1:
                raise SafetensorsError(f"tensor '{name}': dim {k} slice step {step} is not positive", "invalid_input")
            count = len(range(start, stop, step))
            dims.append((start if count else 0, count, step))
            out_shape.append(count)
        elif isinstance(item, (int, np.integer)):
            index = int(item) + (size if int(item) < 0 else 0)
            if not 0 <= index < size:
                raise SafetensorsError(f"tensor '{name}': index {int(item)} is out of range for dim {k} of size {size}",
                                       "invalid_input")
            dims.append((index, 1, 1))
        else:
            raise SafetensorsError(f"tensor '{name}': cannot index with {type(item).__name__}", "invalid_input")
    return dims, out_shape
