"""safe_open against NumPy and torch slicing of tensors parsed without hubload."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hubload
from conftest import random_bits, read_safetensors, write_safetensors

DTYPES = ["BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "C64", "I64", "U64",
          "F8_E4M3", "F8_E5M2"]
# The slices every tensor is read with: whole rows, a non-contiguous dim-1 range,
# a strided one, an integer index, an empty one, Ellipsis.
SLICES = [np.s_[1:3], np.s_[:, 2:7], np.s_[:, 1:9:3], np.s_[2], np.s_[1:4, 5], np.s_[3:3], np.s_[..., 4:6],
          np.s_[-2:, ::2]]
TORCH_SAFE = {"U16": "uint16", "U32": "uint32", "U64": "uint64"}


@pytest.fixture(scope="module")
def every_dtype(tmp_path_factory):
    rng = np.random.default_rng(0)
    tensors = {f"t_{d.lower()}": (d, random_bits(d, (5, 10), rng)) for d in DTYPES}
    tensors["scalar"] = ("F32", np.array(3.5, dtype=np.float32))
    path = tmp_path_factory.mktemp("st") / "all.safetensors"
    write_safetensors(path, tensors, metadata={"format": "pt", "source": "test"})
    return path, read_safetensors(path)


def torch_reference(dtype, bits):
    if dtype == "BF16":
        return torch.from_numpy(bits.view(np.int16)).view(torch.bfloat16)
    if dtype.startswith("F8"):
        name = {"F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2"}[dtype]
        t = torch.from_numpy(bits)
        return t.view(getattr(torch, name)) if hasattr(torch, name) else t
    return torch.from_numpy(bits)


def same(a, b):
    assert a.dtype == b.dtype and tuple(a.shape) == tuple(b.shape)
    if isinstance(a, torch.Tensor):
        if a.dtype in (torch.bfloat16, torch.float16):
            a, b = a.contiguous().view(torch.int16), b.contiguous().view(torch.int16)
        assert torch.equal(a, b)
    else:
        assert np.array_equal(a, b)


def test_keys_and_metadata(every_dtype):
    path, reference = every_dtype
    with hubload.safe_open(path, framework="np") as f:
        assert f.keys() == sorted(reference)
        assert f.metadata() == {"format": "pt", "source": "test"}
        assert f.get_dtype("t_bf16") == "BF16"
        assert f.get_slice("t_f32").get_shape() == [5, 10]
        assert f.get_slice("t_f8_e4m3").get_dtype() == "F8_E4M3"


@pytest.mark.parametrize("dtype", DTYPES)
def test_numpy_tensors_and_slices(every_dtype, dtype):
    path, reference = every_dtype
    bits = reference[f"t_{dtype.lower()}"][1]
    with hubload.safe_open(path, framework="np") as f:
        whole = f.get_tensor(f"t_{dtype.lower()}")
        same(whole, bits)
        for key in SLICES:
            same(f.get_slice(f"t_{dtype.lower()}")[key], bits[key])
        assert f.get_tensor("scalar") == np.float32(3.5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_torch_tensors_and_slices(every_dtype, dtype):
    path, reference = every_dtype
    name = f"t_{dtype.lower()}"
    with hubload.safe_open(path, framework="pt") as f:
        if dtype in TORCH_SAFE and not hasattr(torch, TORCH_SAFE[dtype]):
            with pytest.raises(hubload.SafetensorsError, match=dtype):
                f.get_tensor(name)
            return
        expected = torch_reference(dtype, reference[name][1])
        whole = f.get_tensor(name)
        same(whole, expected)
        for key in SLICES:
            same(f.get_slice(name)[key], expected[key])


def test_bfloat16_values(tmp_path):
    values = torch.tensor([[1.5, -2.0, 3.25], [0.0, 65280.0, -0.5]], dtype=torch.bfloat16)
    path = tmp_path / "bf16.safetensors"
    write_safetensors(path, {"w": ("BF16", values.view(torch.int16).numpy().view(np.uint16))})
    with hubload.safe_open(path, framework="pt") as f:
        assert f.get_tensor("w").dtype == torch.bfloat16
        assert torch.equal(f.get_tensor("w"), values)
        assert torch.equal(f.get_slice("w")[:, 1:], values[:, 1:])
    with hubload.safe_open(path, framework="np") as f:
        assert f.get_tensor("w").dtype == np.uint16


def test_errors(tmp_path, every_dtype):
    path, _ = every_dtype
    with pytest.raises(FileNotFoundError):
        hubload.safe_open(tmp_path / "absent.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\xff" * 16)
    with pytest.raises(hubload.SafetensorsError) as error:
        hubload.safe_open(bad)
    assert str(bad) in str(error.value) and isinstance(error.value, ValueError)
    with hubload.safe_open(path, framework="np") as f:
        with pytest.raises(hubload.HubloadError, match="nope"):
            f.get_tensor("nope")
        with pytest.raises(hubload.SafetensorsError):
            f.get_slice("t_f32")[:, ::-1]
        with pytest.raises(hubload.SafetensorsError):
            f.get_slice("t_f32")[7]
