"""load_config and validate_tensor_parallel."""

from __future__ import annotations

import json
import subprocess

import pytest

import hubload
from conftest import ROOT, hubload_cli


def test_attributes_dict_and_raw(llama):
    cfg = hubload.load_config(llama)
    raw = json.loads((llama / "config.json").read_text())
    assert cfg.model_type == "llama"
    assert cfg.hidden_size == raw["hidden_size"]
    assert cfg.num_key_value_heads == raw["num_key_value_heads"]
    assert cfg.head_dim == raw["hidden_size"] // raw["num_attention_heads"]
    assert cfg.raw == raw
    assert cfg.to_dict()["vocab_size"] == raw["vocab_size"]
    with pytest.raises(AttributeError):
        cfg.not_a_field
    assert hubload.load_config(llama / "config.json").hidden_size == cfg.hidden_size


def test_config_from_a_repo(hub, tmp_path):
    cfg = hubload.load_config("acme/tiny", endpoint=hub.url, cache_dir=tmp_path, token=False, revision="v1.0")
    assert cfg.raw["rev"] == "v1.0"


def test_validate_tensor_parallel(llama):
    cfg = hubload.load_config(llama)
    assert hubload.validate_tensor_parallel(cfg, 2) == []
    problems = hubload.validate_tensor_parallel(cfg, 3)
    assert problems and any(p.field == "num_attention_heads" for p in problems)
    with pytest.raises(hubload.InvalidPlanError) as error:
        hubload.validate_tensor_parallel(cfg, 3, raise_on_error=True)
    assert isinstance(error.value, ValueError) and "3" in str(error.value)


def test_missing_and_malformed(tmp_path):
    with pytest.raises(FileNotFoundError):
        hubload.load_config(tmp_path / "absent" / "config.json")
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(hubload.InvalidInputError) as error:
        hubload.load_config(tmp_path)
    assert "config.json" in str(error.value) and isinstance(error.value, ValueError)


def test_to_dict_is_the_cli_json(tmp_path):
    """One schema for Python and `hubload config --json`, frontier fields included."""
    source = ROOT / "tests" / "testdata" / "configs" / "deepseek-ai--DeepSeek-V3" / "config.json"
    fields = hubload.load_config(source).to_dict()
    printed = json.loads(subprocess.run([hubload_cli(), "config", str(source), "--json"], check=True,
                                        capture_output=True, text=True).stdout)
    printed.pop("tensor_parallel", None)
    assert fields == printed
    assert fields["mla"]["kv_lora_rank"] == 512
    assert fields["quantization"]["quant_method"] == "fp8"
    assert fields["quantization"]["block_size"] == [128, 128]
    assert fields["estimated_weight_bytes"] > 0
