"""tqdm bars for downloads and loads: shown when tqdm is installed and asked for."""

from __future__ import annotations

from typing import Callable, Optional


class _Bar:
    def __init__(self, desc: str):
        import tqdm  # noqa: F401 (checked by bar_hook)

        self._bar = tqdm.tqdm(desc=desc, unit="B", unit_scale=True, unit_divisor=1024, total=0)

    def __call__(self, done: int, total: int) -> None:
        if self._bar.total != total:
            self._bar.total = total
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        self._bar.close()


def bar_hook(progress, desc: str) -> Optional[Callable[[int, int], None]]:
    """A progress hook drawing a tqdm bar, or None (no tqdm, or progress off).
    A callable `progress` is the hook itself: called with (bytes_done, bytes_total)."""
    if callable(progress):
        return progress
    if not progress:
        return None
    try:
        return _Bar(desc)
    except ImportError:
        return None


def close(hook) -> None:
    if isinstance(hook, _Bar):
        hook.close()
