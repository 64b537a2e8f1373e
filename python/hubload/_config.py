"""ModelConfig: config.json as transformers' AutoConfig reads it, with attribute access."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, NamedTuple, Optional, Union

from . import _native
from ._hub import hf_hub_download, looks_like_repo_id
from .errors import InvalidPlanError


class ModelConfig:
    """A typed view of a config.json.

    Attributes are the standard fields under their usual names (``hidden_size``,
    ``num_attention_heads``, ``num_key_value_heads``, ``head_dim``,
    ``intermediate_size``, ``vocab_size``, ``moe``, ``quantization``, ...), with
    the family's key spellings and defaults applied; None where the config does
    not determine one. ``raw`` is the whole JSON, ``to_dict()`` the typed fields, as
    ``hubload config --json`` prints them.
    """

    def __init__(self, native: "_native.NativeConfig"):
        self._native = native
        self._fields = json.loads(native.to_json())
        self._raw: Optional[Dict[str, Any]] = None

    @property
    def raw(self) -> Dict[str, Any]:
        """The config.json as parsed JSON, for anything the typed fields leave out."""
        if self._raw is None:
            self._raw = json.loads(self._native.raw_json)
        return self._raw

    def to_dict(self) -> Dict[str, Any]:
        return dict(self._fields)

    def __getattr__(self, name: str) -> Any:
        fields = self.__dict__.get("_fields", {})
        if name in fields:
            return fields[name]
        raise AttributeError(f"ModelConfig has no field '{name}' (see .raw for the JSON)")

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._fields))

    def __repr__(self) -> str:
        return (f"ModelConfig(model_type={self._fields['model_type']!r}, hidden_size={self._fields['hidden_size']}, "
                f"num_hidden_layers={self._fields['num_hidden_layers']})")


def load_config(path_or_repo: Union[str, os.PathLike], **hub_kwargs: Any) -> ModelConfig:
    """Read a config.json: a file, a folder holding one, or a repo id.

    A repo id that is not a local path is fetched with :func:`hf_hub_download`
    (``hub_kwargs`` are passed to it: ``revision``, ``cache_dir``, ``token``, ...).
    """
    path = os.fspath(path_or_repo)
    if not os.path.exists(path) and looks_like_repo_id(path):
        hub_kwargs.setdefault("progress", False)
        path = hf_hub_download(path, "config.json", **hub_kwargs)
    return ModelConfig(_native.load_config(path))


class TpProblem(NamedTuple):
    field: str    # "num_attention_heads"
    message: str  # "num_attention_heads 28 is not divisible by tp 8"


def validate_tensor_parallel(config: Union[ModelConfig, str, os.PathLike], world_size: int, *,
                             raise_on_error: bool = False) -> List[TpProblem]:
    """The reasons ``config`` cannot be split over ``world_size`` ranks (empty: it can).

    With ``raise_on_error=True``, raises :class:`InvalidPlanError` naming every
    problem instead of returning them.
    """
    if not isinstance(config, ModelConfig):
        config = load_config(config)
    result = json.loads(_native.validate_tensor_parallel(config._native, int(world_size)))
    problems = [TpProblem(p["field"], p["message"]) for p in result["problems"]]
    if problems and raise_on_error:
        raise InvalidPlanError(f"{config.source}: cannot split over {world_size} ranks: " +
                               "; ".join(p.message for p in problems), "invalid_plan")
    return problems
