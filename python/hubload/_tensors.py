"""From bytes in NumPy arrays to NumPy or torch tensors of the safetensors dtype.

NumPy has no bfloat16 and no float8: under "np" those come back as uint16 and
uint8 arrays of their bits. Under "pt" they come back as torch.bfloat16 and, where
torch has them (2.1 and later), torch.float8_*; torch 1.13 has no float8 dtype, so
FP8 comes back as uint8 there too. F4/F6 (packed, not whole bytes) come back as
their bytes, uint8 of shape [n_bytes], under both.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import SafetensorsError

# safetensors dtype -> (NumPy dtype of the bits, torch dtype name or None)
_DTYPES = {
    "BOOL": (np.bool_, "bool"),
    "U8": (np.uint8, "uint8"),
    "I8": (np.int8, "int8"),
    "I16": (np.int16, "int16"),
    "U16": (np.uint16, "uint16"),
    "F16": (np.float16, "float16"),
    "BF16": (np.uint16, "bfloat16"),
    "I32": (np.int32, "int32"),
    "U32": (np.uint32, "uint32"),
    "F32": (np.float32, "float32"),
    "F64": (np.float64, "float64"),
    "C64": (np.complex64, "complex64"),
    "I64": (np.int64, "int64"),
    "U64": (np.uint64, "uint64"),
    "F8_E4M3": (np.uint8, "float8_e4m3fn"),
    "F8_E5M2": (np.uint8, "float8_e5m2"),
    "F8_E8M0": (np.uint8, "float8_e8m0fnu"),
    "F8_E4M3FNUZ": (np.uint8, "float8_e4m3fnuz"),
    "F8_E5M2FNUZ": (np.uint8, "float8_e5m2fnuz"),
    "F4": (np.uint8, None),
    "F6_E2M3": (np.uint8, None),
    "F6_E3M2": (np.uint8, None),
}
_SIGNED = {1: np.int8, 2: np.int16, 4: np.int32, 8: np.int64}
# Bit patterns that torch.from_numpy accepts as they are.
_FROM_NUMPY = {"BOOL", "U8", "I8", "I16", "F16", "I32", "F32", "F64", "C64", "I64"}


def numpy_dtype(dtype: str) -> np.dtype:
    """The NumPy dtype that holds a safetensors dtype's bits."""
    return np.dtype(_DTYPES[dtype][0])


def normalize_framework(framework: str) -> str:
    if framework in ("pt", "torch", "pytorch"):
        return "pt"
    if framework in ("np", "numpy"):
        return "np"
    raise ValueError(f"framework '{framework}' is none of 'pt', 'np'")


def to_torch(array: np.ndarray, dtype: str) -> Any:
    """A torch tensor sharing `array`'s memory, of the safetensors dtype where torch has it."""
    import torch

    if dtype in _FROM_NUMPY:
        return torch.from_numpy(array)
    name = _DTYPES[dtype][1]
    target = getattr(torch, name, None) if name else None
    if target is None and dtype.startswith("U"):
        raise SafetensorsError(f"torch {torch.__version__} has no {name} dtype for a {dtype} tensor: "
                               "use framework='np'", "unsupported")
    bits = torch.from_numpy(array.view(_SIGNED[array.dtype.itemsize]) if array.dtype != np.uint8 else array)
    return bits if target is None else bits.view(target)


def convert(array: np.ndarray, dtype: str, framework: str, device: str = "cpu") -> Any:
    if framework == "np":
        return array
    tensor = to_torch(array, dtype)
    return tensor if device == "cpu" else tensor.to(device)
