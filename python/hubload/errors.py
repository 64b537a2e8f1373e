"""hubload's exceptions, named as in ``huggingface_hub.errors``.

Every exception derives from :class:`HubloadError` and carries the library's
error ``kind`` (``"not_found"``, ``"gated"``, ...) and its ``message``, which
names the file, tensor, URL or offset at fault. Where a built-in exception
means the same thing, the class derives from it too, so that
``except FileNotFoundError`` or ``except ValueError`` keeps working.
"""

from __future__ import annotations


class HubloadError(Exception):
    """Base of every hubload error; ``kind`` and ``message`` as the library gave them."""

    def __init__(self, message: str, kind: str = "internal"):
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __str__(self) -> str:
        return self.message


class HfHubHTTPError(HubloadError, OSError):
    """The Hub answered with an error, or could not be reached (network, 5xx, 401, 429)."""


class RepositoryNotFoundError(HfHubHTTPError, FileNotFoundError):
    """The repo does not exist (or is private and the token cannot see it)."""


class GatedRepoError(RepositoryNotFoundError):
    """The repo is gated and the token has no access: request it on the Hub."""


class RevisionNotFoundError(HfHubHTTPError, FileNotFoundError):
    """The branch, tag, commit or refs/pr/N does not exist in the repo."""


class EntryNotFoundError(HfHubHTTPError, FileNotFoundError):
    """The file does not exist in the repo at that revision."""


class LocalEntryNotFoundError(EntryNotFoundError, ValueError):
    """Offline (local_files_only or HF_HUB_OFFLINE) and the cache lacks what is needed."""


class IntegrityError(HubloadError, OSError):
    """Downloaded bytes do not match their hash or size."""


class InvalidPlanError(HubloadError, ValueError):
    """The model cannot be split as asked (tensor-parallel validation failed)."""


class SafetensorsError(HubloadError, ValueError):
    """A safetensors file is malformed, or a tensor or slice cannot be read as asked."""


class InvalidInputError(HubloadError, ValueError):
    """A malformed input: a config, an argument, a server answer."""


class NotFoundError(HubloadError, FileNotFoundError):
    """A local file, folder or tensor does not exist."""


class UnsupportedError(HubloadError, NotImplementedError):
    """Valid, but not handled by hubload (a dtype, an architecture)."""


class CancelledError(HubloadError):
    """The call was cancelled."""


def _not_found_class(message: str) -> type:
    # The Hub client states which thing is missing at the head of its message
    # (src/hub/hub_errors.cpp); context may be prefixed, so search, not match.
    if "revision not found" in message:
        return RevisionNotFoundError
    if "file not found in repo" in message:
        return EntryNotFoundError
    if "repo not found" in message:
        return RepositoryNotFoundError
    if "not found: " in message and "/resolve/" in message:
        return EntryNotFoundError
    return NotFoundError


def error_for(kind: str, message: str, context: str = "") -> HubloadError:
    """The exception for a library error of ``kind`` raised in ``context``."""
    if kind == "not_found":
        cls = _not_found_class(message)
    elif kind == "invalid_input":
        cls = SafetensorsError if context == "safetensors" else InvalidInputError
    elif kind == "unsupported" and context == "safetensors":
        cls = SafetensorsError
    else:
        cls = _BY_KIND.get(kind, HubloadError)
    return cls(message, kind)


_BY_KIND = {
    "io": HubloadError,
    "network": HfHubHTTPError,
    "rate_limited": HfHubHTTPError,
    "unauthorized": HfHubHTTPError,
    "integrity": IntegrityError,
    "gated": GatedRepoError,
    "offline": LocalEntryNotFoundError,
    "conflict": HubloadError,
    "unsupported": UnsupportedError,
    "cancelled": CancelledError,
    "invalid_plan": InvalidPlanError,
    "internal": HubloadError,
}

__all__ = [name for name, value in globals().items() if isinstance(value, type) and issubclass(value, HubloadError)]
