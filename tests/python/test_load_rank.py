"""plan, load_rank and load_rank_into on a generated Llama (scripts/gen-model.py)."""

from __future__ import annotations

import gc
import threading

import numpy as np
import pytest
import torch

import hubload
from conftest import read_safetensors


@pytest.fixture(scope="module")
def full(llama):
    """Every tensor of the checkpoint as torch bf16, parsed without hubload."""
    out = {}
    for shard in sorted(llama.glob("*.safetensors")):
        for name, (dtype, bits) in read_safetensors(shard).items():
            assert dtype == "BF16"
            out[name] = torch.from_numpy(bits.view(np.int16)).view(torch.bfloat16)
    return out


def bits(t):
    return t.contiguous().view(torch.int16)


def expected_slice(full_tensor, rank_entry):
    if "dim" not in rank_entry:
        return full_tensor
    parts = [full_tensor.narrow(rank_entry["dim"], start, end - start) for start, end in rank_entry["ranges"]]
    out = torch.cat(parts, dim=rank_entry["dim"])
    if rank_entry.get("pad"):
        shape = list(out.shape)
        shape[rank_entry["dim"]] = rank_entry["pad"]
        out = torch.cat([out, torch.zeros(shape, dtype=out.dtype)], dim=rank_entry["dim"])
    return out


@pytest.mark.parametrize("tp", [2, 4])
def test_ranks_equal_the_plans_slices(llama, full, tp):
    plan = hubload.plan(llama, tp=tp)
    described = plan.to_dict()
    assert described["world_size"] == tp and plan.world_size == tp
    assert plan.strategies["model.layers.0.self_attn.q_proj.weight"] == "q_heads"
    for rank in range(tp):
        tensors = hubload.load_rank(llama, tp=tp, rank=rank)
        present = [t for t in described["tensors"] if t["ranks"][rank]["present"] and t["strategy"] != "skip"]
        assert sorted(tensors) == sorted(t["name"] for t in present)
        for entry in present:
            got = tensors[entry["name"]]
            assert got.dtype == torch.bfloat16
            assert torch.equal(bits(got), bits(expected_slice(full[entry["name"]], entry["ranks"][rank])))
        # The same, stated as torch.chunk: column-parallel on dim 0, row-parallel on dim 1.
        q = "model.layers.1.self_attn.q_proj.weight"
        o = "model.layers.1.self_attn.o_proj.weight"
        down = "model.layers.0.mlp.down_proj.weight"
        assert torch.equal(bits(tensors[q]), bits(torch.chunk(full[q], tp, 0)[rank]))
        assert torch.equal(bits(tensors[o]), bits(torch.chunk(full[o], tp, 1)[rank]))
        assert torch.equal(bits(tensors[down]), bits(torch.chunk(full[down], tp, 1)[rank]))
        norm = "model.norm.weight"
        assert torch.equal(bits(tensors[norm]), bits(full[norm]))
        assert sum(t.numel() * t.element_size() for t in tensors.values()) == plan.rank_bytes[rank]


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def test_tensors_view_the_arena_and_keep_it_alive(llama, full):
    hubload.load_rank(llama, tp=1, rank=0)  # warm: lazy allocations of the first call
    gc.collect()
    before = rss_bytes()
    whole = hubload.load_rank(llama, tp=1, rank=0)
    grown = rss_bytes() - before
    # One copy of the model's bytes in memory (the arena), not two.
    assert whole.stats["bytes_out"] <= grown + (1 << 20) and grown < whole.stats["bytes_out"] * 1.5
    del whole
    tensors = hubload.load_rank(llama, tp=2, rank=1)
    start, size = tensors.stats["arena_address"], tensors.stats["arena_bytes"]
    for t in tensors.values():
        assert start <= t.data_ptr() and t.data_ptr() + t.numel() * t.element_size() <= start + size
    q = "model.layers.0.self_attn.q_proj.weight"
    kept = tensors[q]
    expected = torch.chunk(full[q], 2, 0)[1]
    del tensors
    gc.collect()
    assert torch.equal(bits(kept), bits(expected))
    array = hubload.load_rank(llama, tp=2, rank=1, framework="np")[q]
    assert array.dtype == np.uint16 and type(array.base).__name__ == "PyCapsule"  # the arena's owner
    gc.collect()
    assert np.array_equal(array, bits(expected).numpy().view(np.uint16))


def test_plan_object_deleted_first(llama, full):
    plan = hubload.plan(llama, tp=4)
    tensors = hubload.load_rank(plan, rank=3, dtype="float32")
    del plan
    gc.collect()
    w = "model.layers.0.mlp.gate_proj.weight"
    assert tensors[w].dtype == torch.float32
    assert torch.equal(tensors[w].view(torch.int32), torch.chunk(full[w], 4, 0)[3].float().view(torch.int32))
    assert tensors.dtypes[w] == "F32"


def test_load_rank_into_a_buffer_and_into_tensors(llama, full):
    plan = hubload.plan(llama, tp=2)
    buffer = torch.zeros(plan.arena_bytes(0) + 255, dtype=torch.uint8)  # any start: 255 spare bytes
    tensors = hubload.load_rank_into(plan, buffer, rank=0)
    base = buffer.data_ptr()
    w = "model.layers.1.mlp.up_proj.weight"
    assert base <= tensors[w].data_ptr() < base + buffer.numel()
    assert torch.equal(bits(tensors[w]), bits(torch.chunk(full[w], 2, 0)[0]))
    model = {w: torch.empty(torch.chunk(full[w], 2, 0)[0].shape, dtype=torch.bfloat16)}
    hubload.load_rank_into(plan, model, rank=0)
    assert torch.equal(bits(model[w]), bits(torch.chunk(full[w], 2, 0)[0]))
    with pytest.raises(hubload.HubloadError):
        hubload.load_rank_into(plan, torch.zeros(16, dtype=torch.uint8), rank=0)


def test_invalid_plans_raise(llama):
    with pytest.raises(hubload.InvalidPlanError) as error:
        hubload.plan(llama, tp=3)
    assert isinstance(error.value, ValueError) and error.value.kind == "invalid_plan"
    with pytest.raises(FileNotFoundError):
        hubload.load_rank(llama / "absent", tp=2, rank=0)


def test_two_loads_in_two_threads_overlap(llama):
    # Each load's progress hook runs inside its load (from the loader's threads);
    # the first load's hook waits until the second load has reported progress.
    # With the GIL held for the whole call, the second load could not start.
    second_started = threading.Event()
    waited = []

    def first_hook(done, total):
        if not waited:
            waited.append(second_started.wait(timeout=30))

    def second_hook(done, total):
        second_started.set()

    plan = hubload.plan(llama, tp=2)
    results = {}

    def run(key, hook):
        results[key] = hubload.load_rank(plan, rank=0, threads=1, progress=hook)

    first = threading.Thread(target=run, args=("first", first_hook))
    first.start()
    second = threading.Thread(target=run, args=("second", second_hook))
    second.start()
    first.join(timeout=60)
    second.join(timeout=60)
    assert waited == [True]
    assert set(results) == {"first", "second"}
