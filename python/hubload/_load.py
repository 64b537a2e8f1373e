"""Tensor-parallel plans and rank loads: one rank's slices, straight into memory."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Union

import numpy as np

from . import _native
from ._hub import resolve_model_path
from ._progress import bar_hook, close
from ._tensors import convert, normalize_framework

_PLAN_OPTIONS = ("vocab_pad_multiple", "pad_vocab_always", "row_bias", "replicate_unmatched", "rules_file",
                 "expert_parallel")


class Plan:
    """Which bytes of a checkpoint each of ``world_size`` ranks holds (docs/tensor-parallel.md)."""

    def __init__(self, native: "_native.NativePlan"):
        self._native = native
        self.world_size: int = native.world_size
        self.model_type: str = native.model_type
        self.notes: List[str] = list(native.notes)
        self.root: str = native.root
        self.strategies: Dict[str, str] = native.strategies()  # tensor -> "column", "row", ...
        self.rank_bytes: List[int] = list(native.rank_bytes())  # output bytes per rank

    def to_dict(self) -> Dict[str, Any]:
        """The plan as `hubload plan --json` writes it: strategy and per-rank slices of every tensor."""
        return json.loads(self._native.to_json())

    def arena_bytes(self, rank: int, dtype: Any = None) -> int:
        """Bytes a buffer for :func:`load_rank_into` needs for ``rank``, from its first 256-byte
        aligned byte (tensors are placed like their file offsets, aligned to their element size)."""
        return self._native.arena_bytes(int(rank), _dtype_name(dtype))

    def __repr__(self) -> str:
        return f"Plan(model_type={self.model_type!r}, world_size={self.world_size}, tensors={len(self.strategies)})"


def plan(path: Union[str, os.PathLike], tp: int, **plan_options: Any) -> Plan:
    """Plan the split of a model folder (or a cached repo id) over ``tp`` ranks.

    Options: ``vocab_pad_multiple`` (64; 0 = never pad), ``pad_vocab_always``,
    ``row_bias`` ("all" or "rank0"), ``replicate_unmatched``, ``rules_file``,
    ``expert_parallel``; as the ``hubload plan`` flags of the same names.
    Raises :class:`InvalidPlanError` when the model cannot be split so.
    """
    unknown = set(plan_options) - set(_PLAN_OPTIONS)
    if unknown:
        raise TypeError(f"plan() got unknown options {sorted(unknown)}; known: {list(_PLAN_OPTIONS)}")
    args = _native.PlanArgs()
    for key, value in plan_options.items():
        setattr(args, key, os.fspath(value) if key == "rules_file" and value is not None else value)
    return Plan(_native.plan(resolve_model_path(path), int(tp), args))


class RankTensors(dict):
    """name -> tensor for one rank, with ``dtypes`` (name -> stored safetensors dtype)
    and ``stats`` (bytes_read, bytes_planned, read_calls, seconds, arena_address, arena_bytes)."""

    dtypes: Dict[str, str]
    stats: Dict[str, Any]


def _dtype_name(dtype: Any) -> Optional[str]:
    if dtype is None:
        return None
    name = str(dtype).replace("torch.", "").lower()
    names = {"bf16": "BF16", "bfloat16": "BF16", "f16": "F16", "float16": "F16", "half": "F16",
             "f32": "F32", "float32": "F32", "float": "F32"}
    if name not in names:
        raise ValueError(f"dtype {dtype!r} is none of bfloat16, float16, float32")
    return names[name]


def _plan_for(path: Any, tp: Optional[int], plan_options: Dict[str, Any]) -> Plan:
    if isinstance(path, Plan):
        if plan_options or (tp is not None and tp != path.world_size):
            raise ValueError("a Plan was given: tp and plan options come from it")
        return path
    if tp is None:
        raise TypeError("tp is required (or pass a Plan)")
    return plan(path, tp, **plan_options)


def _load(path, tp, rank, framework, dtype, threads, progress, buffer, plan_options) -> RankTensors:
    framework = normalize_framework(framework)
    the_plan = _plan_for(path, tp, plan_options)
    hook = bar_hook(progress, f"rank {rank}/{the_plan.world_size}")
    try:
        arrays, stats = _native.load_rank(the_plan._native, int(rank), _dtype_name(dtype), threads, hook, buffer)
    finally:
        close(hook)
    out = RankTensors()
    dtypes = stats.pop("dtypes")
    for name, array in arrays.items():
        out[name] = convert(array, dtypes[name], framework)
    out.dtypes, out.stats = dtypes, stats
    return out


def load_rank(path: Union[str, os.PathLike, Plan], tp: Optional[int] = None, rank: int = 0, framework: str = "pt",
              dtype: Any = None, threads: Optional[int] = None, progress: bool = False,
              **plan_options: Any) -> RankTensors:
    """Load rank ``rank`` of ``tp``: only its slices of each tensor, read in parallel.

    ``path`` is a model folder, a cached repo id, or a :class:`Plan`. Returns
    name -> tensor (torch under "pt", NumPy under "np"; BF16/FP8 as in
    :func:`safe_open`). ``dtype`` ("bfloat16", torch.float16, ...) converts the
    float tensors while loading. ``threads``: I/O threads (default 4).
    ``progress``: True draws a tqdm bar; a callable is called with
    (bytes_done, bytes_total) from the loader's threads, under the GIL.

    Zero-copy: every tensor views one arena the loader filled; the tensors
    themselves keep it alive (it is freed with the last of them). The GIL is
    released while loading; Ctrl-C stops the load with ``KeyboardInterrupt``.
    """
    return _load(path, tp, rank, framework, dtype, threads, progress, None, plan_options)


def load_rank_into(path: Union[str, os.PathLike, Plan], out: Any, tp: Optional[int] = None, rank: int = 0,
                   framework: str = "pt", dtype: Any = None, threads: Optional[int] = None, progress: bool = False,
                   **plan_options: Any) -> RankTensors:
    """Load rank ``rank`` into caller memory.

    ``out`` is either a writable buffer (a NumPy array, a CPU or pinned torch
    tensor, a bytearray) of at least ``Plan.arena_bytes(rank)`` bytes from its
    first 256-byte aligned byte (allocate 255 more when unsure), which the
    returned tensors view (no copy);
    or a dict name -> preallocated tensor/array (a model's parameters), each
    filled from the loaded rank (one copy per tensor; its shape must match).
    """
    if isinstance(out, dict):
        loaded = _load(path, tp, rank, "np", dtype, threads, progress, None, plan_options)
        for name, target in out.items():
            if name not in loaded:
                raise KeyError(f"rank {rank} has no tensor '{name}'")
            _copy_into(target, loaded[name], loaded.dtypes[name])
        return loaded
    return _load(path, tp, rank, framework, dtype, threads, progress, _as_buffer(out), plan_options)


def _as_buffer(out: Any) -> np.ndarray:
    """`out` as a 1-D uint8 NumPy array starting on a 256-byte boundary (what the loader
    asks of an arena): a buffer that starts elsewhere is used from its first aligned byte."""
    if type(out).__module__.startswith("torch"):
        import torch

        if out.device.type != "cpu" or not out.is_contiguous():
            raise ValueError("load_rank_into needs a contiguous CPU (or pinned) tensor")
        flat = out.reshape(-1)
        array = (flat if flat.dtype == torch.uint8 else flat.view(torch.uint8)).numpy()
    elif isinstance(out, np.ndarray):
        if not out.flags.c_contiguous or not out.flags.writeable:
            raise ValueError("load_rank_into needs a writable, C-contiguous array")
        array = out.reshape(-1).view(np.uint8)
    else:
        array = np.frombuffer(out, dtype=np.uint8)  # bytearray, mmap, memoryview: must be writable
    skip = -array.__array_interface__["data"][0] % 256
    return array[skip:]


def _copy_into(target: Any, source: np.ndarray, dtype: str) -> None:
    if type(target).__module__.startswith("torch"):
        target.copy_(convert(source, dtype, "pt").reshape(target.shape))
    else:
        np.copyto(target, source.reshape(target.shape))
