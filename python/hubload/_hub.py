"""Downloads into the Python-compatible Hub cache (huggingface_hub's layout)."""

from __future__ import annotations

import os
from typing import List, Optional, Union

from . import _native
from ._progress import bar_hook, close
from .errors import NotFoundError


def _hub_args(cache_dir, revision, local_files_only, token, endpoint, repo_type) -> "_native.HubArgs":
    args = _native.HubArgs()
    args.cache_dir = None if cache_dir is None else os.fspath(cache_dir)
    args.revision = revision
    args.local_files_only = bool(local_files_only)
    # huggingface_hub's meaning: a string is the token, False sends none,
    # None or True use HF_TOKEN or the stored token.
    if token is False:
        args.no_token = True
    elif isinstance(token, str):
        args.token = token
    args.endpoint = endpoint
    args.repo_type = repo_type or "model"
    return args


def _patterns(value: Union[None, str, List[str]]) -> List[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def download_model(
    model_name_or_path: str,
    cache_dir: Optional[Union[str, os.PathLike]] = None,
    revision: Optional[str] = None,
    local_files_only: bool = False,
    skip_download_weights: bool = False,
    *,
    token: Union[None, bool, str] = None,
    endpoint: Optional[str] = None,
    allow_patterns: Union[None, str, List[str]] = None,
    ignore_patterns: Union[None, str, List[str]] = None,
    repo_type: str = "model",
    progress: bool = True,
) -> str:
    """Download a model into the Hub cache and return its snapshot folder.

    Optimum's ``download_model_from_hf``: ``model_name_or_path`` is an existing
    local folder (returned as is) or a repo id. Without ``allow_patterns`` the
    model's files are fetched: config.json, the safetensors index and the
    weights it names (``skip_download_weights=True``: config and index only).
    ``allow_patterns``/``ignore_patterns`` select files by fnmatch instead
    (``["*"]`` for the whole repo).

    ``revision`` is a branch, tag, 40-hex commit or ``refs/pr/N`` (default
    ``main``). ``local_files_only=True`` makes no network call at all and raises
    :class:`LocalEntryNotFoundError` when the cache lacks the snapshot.
    ``cache_dir``, ``token`` and ``endpoint`` override ``HF_HUB_CACHE``/``HF_HOME``,
    ``HF_TOKEN`` and ``HF_ENDPOINT``; ``HF_HUB_OFFLINE`` and the timeouts
    (``HF_HUB_DOWNLOAD_TIMEOUT``, ``HF_HUB_ETAG_TIMEOUT``) are honoured as by the
    ``hubload`` CLI. ``token=False`` sends no token.

    The GIL is released while downloading. Ctrl-C raises ``KeyboardInterrupt``
    and keeps the partial files, so the next call resumes. A tqdm bar shows the
    bytes when tqdm is installed and ``progress`` is true; a callable
    ``progress`` is called with (bytes_done, bytes_total) instead.
    """
    args = _hub_args(cache_dir, revision, local_files_only, token, endpoint, repo_type)
    hook = bar_hook(progress, os.fspath(model_name_or_path))
    try:
        return _native.download_model(
            os.fspath(model_name_or_path), args, bool(skip_download_weights), _patterns(allow_patterns),
            _patterns(ignore_patterns), hook)
    finally:
        close(hook)


def hf_hub_download(
    repo_id: str,
    filename: str,
    *,
    subfolder: Optional[str] = None,
    repo_type: Optional[str] = None,
    revision: Optional[str] = None,
    endpoint: Optional[str] = None,
    cache_dir: Optional[Union[str, os.PathLike]] = None,
    local_files_only: bool = False,
    token: Union[None, bool, str] = None,
    progress: bool = True,
) -> str:
    """Download one file of a repo and return its path in the snapshot (huggingface_hub's meaning).

    ``subfolder`` is prefixed to ``filename``. Arguments and environment as in
    :func:`download_model`; a missing file raises :class:`EntryNotFoundError`,
    a missing revision :class:`RevisionNotFoundError`, a missing repo
    :class:`RepositoryNotFoundError`, a gated one :class:`GatedRepoError`.
    """
    if subfolder:
        filename = subfolder.rstrip("/") + "/" + filename
    args = _hub_args(cache_dir, revision, local_files_only, token, endpoint, repo_type)
    hook = bar_hook(progress, filename)
    try:
        return _native.hub_download(repo_id, filename, args, hook)
    finally:
        close(hook)


def resolve_model_path(model: Union[str, os.PathLike], *, cache_dir=None, revision: Optional[str] = None) -> str:
    """A local folder as is, else the cached snapshot of repo id ``model`` (never the network)."""
    model = os.fspath(model)
    if os.path.exists(model):
        return model
    if not looks_like_repo_id(model):
        raise NotFoundError(f"model folder '{model}' does not exist", "not_found")
    args = _hub_args(cache_dir, revision, True, None, None, "model")
    return _native.resolve_model_path(model, args)


def looks_like_repo_id(text: str) -> bool:
    """As the CLI decides (src/cli/tp_options.cpp): absolute, relative or deeper
    than org/name can only be a path, and a missing one is a missing file."""
    return not text.startswith(("/", ".")) and text.count("/") <= 1
