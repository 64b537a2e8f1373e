"""hubload: Hugging Face models into the Hub cache, configs, safetensors and
tensor-parallel rank loads, from Python (docs/python.md).

    import hubload
    folder = hubload.download_model("meta-llama/Llama-3.1-8B")
    cfg = hubload.load_config(folder)
    tensors = hubload.load_rank(folder, tp=4, rank=0)        # torch tensors, zero-copy

Only the extension is needed; NumPy is needed for tensors, torch for
framework="pt", tqdm for progress bars.
"""

from . import _native
from ._config import ModelConfig, TpProblem, load_config, validate_tensor_parallel
from ._hub import download_model, hf_hub_download, resolve_model_path
from .errors import (
    CancelledError,
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    HubloadError,
    IntegrityError,
    InvalidInputError,
    InvalidPlanError,
    LocalEntryNotFoundError,
    NotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
    SafetensorsError,
    UnsupportedError,
)


def __getattr__(name):
    # The tensor functions import NumPy; `import hubload` alone does not need it.
    if name in ("safe_open", "SafeSlice"):
        from . import _safetensors

        return getattr(_safetensors, name)
    if name in ("plan", "Plan", "load_rank", "load_rank_into", "RankTensors"):
        from . import _load

        return getattr(_load, name)
    raise AttributeError(f"module 'hubload' has no attribute '{name}'")


__version__ = _native.__version__

__all__ = [
    "download_model", "hf_hub_download", "resolve_model_path", "load_config", "ModelConfig", "TpProblem",
    "validate_tensor_parallel", "safe_open", "SafeSlice", "plan", "Plan", "load_rank", "load_rank_into",
    "RankTensors", "HubloadError", "HfHubHTTPError", "RepositoryNotFoundError", "GatedRepoError",
    "RevisionNotFoundError", "EntryNotFoundError", "LocalEntryNotFoundError", "IntegrityError", "InvalidPlanError",
    "SafetensorsError", "InvalidInputError", "NotFoundError", "UnsupportedError", "CancelledError",
]
