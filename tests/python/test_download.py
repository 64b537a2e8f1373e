"""download_model and hf_hub_download against `hubload serve` on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import hubload
from conftest import GATE_TOKEN, ROOT, Server


def fetch(hub, tmp_path, **kwargs):
    kwargs.setdefault("token", False)
    return hubload.download_model("acme/tiny", cache_dir=tmp_path / "cache", endpoint=hub.url, progress=False, **kwargs)


@pytest.mark.parametrize("revision", ["main", "v1.0", "refs/pr/1"])
def test_branch_tag_and_pr_revisions(hub, tmp_path, revision):
    snapshot = Path(fetch(hub, tmp_path, revision=revision))
    assert snapshot.name == hub.tiny[revision]
    assert snapshot.parent.parent.name == "models--acme--tiny"
    for name in ("config.json", "model.safetensors"):
        assert (snapshot / name).read_bytes() == hub.tiny_files[revision][name]
    assert (snapshot / "model.safetensors").is_symlink()


def test_commit_revision(hub, tmp_path):
    commit = hub.tiny["v1.0"]
    snapshot = Path(fetch(hub, tmp_path, revision=commit))
    assert snapshot.name == commit
    assert (snapshot / "config.json").read_bytes() == hub.tiny_files["v1.0"]["config.json"]


def test_skip_download_weights_and_patterns(hub, tmp_path):
    snapshot = Path(fetch(hub, tmp_path, skip_download_weights=True))
    assert (snapshot / "config.json").exists()
    assert not (snapshot / "model.safetensors").exists()
    assert not (snapshot / "README.md").exists()
    everything = Path(fetch(hub, tmp_path, allow_patterns=["*"], ignore_patterns="*.safetensors"))
    assert (everything / "README.md").read_bytes() == b"# tiny\n"
    assert not (everything / "model.safetensors").exists()


def test_local_files_only_makes_no_request(hub, tmp_path):
    online = fetch(hub, tmp_path)
    before = hub.server.requests()
    assert fetch(hub, tmp_path, local_files_only=True) == online
    with pytest.raises(hubload.LocalEntryNotFoundError) as missing:
        fetch(hub, tmp_path, local_files_only=True, revision="v1.0")
    assert hub.server.requests() == before
    assert isinstance(missing.value, FileNotFoundError) and missing.value.kind == "offline"


def test_environment_is_honoured(hub, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "env-cache"))
    path = hubload.hf_hub_download("acme/tiny", "config.json", token=False, progress=False)
    assert path.startswith(str(tmp_path / "env-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    before = hub.server.requests()
    assert hubload.hf_hub_download("acme/tiny", "config.json", progress=False) == path
    assert hub.server.requests() == before


def test_hf_hub_download(hub, tmp_path):
    path = hubload.hf_hub_download("acme/tiny", "README.md", cache_dir=tmp_path, endpoint=hub.url, token=False,
                                   progress=False)
    assert Path(path).read_bytes() == b"# tiny\n"
    assert Path(path).parent.name == hub.tiny["main"]


def test_each_failure_has_its_exception(hub, tmp_path):
    common = dict(cache_dir=tmp_path, endpoint=hub.url, progress=False)
    with pytest.raises(hubload.GatedRepoError) as gated:
        hubload.hf_hub_download("acme/gated", "config.json", token=False, **common)
    assert gated.value.kind == "gated" and isinstance(gated.value, hubload.RepositoryNotFoundError)
    assert "acme/gated" in str(gated.value)
    ok = hubload.hf_hub_download("acme/gated", "config.json", token=GATE_TOKEN, **common)
    assert Path(ok).read_bytes() == b'{"model_type": "llama"}'

    with pytest.raises(hubload.RepositoryNotFoundError) as repo:
        hubload.download_model("acme/absent", token=False, **common)
    assert not isinstance(repo.value, hubload.GatedRepoError)
    with pytest.raises(hubload.EntryNotFoundError) as entry:
        hubload.hf_hub_download("acme/tiny", "absent.bin", token=False, **common)
    assert "absent.bin" in str(entry.value)
    with pytest.raises(hubload.RevisionNotFoundError) as revision:
        hubload.download_model("acme/tiny", revision="no-such-branch", token=False, **common)
    for error in (repo.value, entry.value, revision.value):
        assert isinstance(error, hubload.HfHubHTTPError)
        assert isinstance(error, FileNotFoundError)
        assert isinstance(error, hubload.HubloadError)
        assert error.kind == "not_found"


def test_two_downloads_in_two_threads(hub, tmp_path):
    results = {}

    def run(revision):
        results[revision] = fetch(hub, tmp_path, revision=revision)

    threads = [threading.Thread(target=run, args=(r,)) for r in ("main", "v1.0")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert Path(results["main"]).name == hub.tiny["main"]
    assert Path(results["v1.0"]).name == hub.tiny["v1.0"]


def test_ctrl_c_cancels_and_the_next_call_resumes(hub, tmp_path):
    # A server that sends 256 KiB/s, so the 3 MiB file takes 12 s: the child is
    # interrupted once part of it is on disk.
    slow = Server(hub.source, tmp_path, "--limit-rate", "256k")
    cache = tmp_path / "cache"
    child = textwrap.dedent(f"""
        import sys, hubload
        try:
            hubload.download_model("acme/big", cache_dir={str(cache)!r}, endpoint={slow.url!r}, token=False,
                                   progress=False)
            print("finished")
        except KeyboardInterrupt:
            print("interrupted")
            sys.exit(3)
    """)
    try:
        process = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env=dict(os.environ))
        blobs = cache / "models--acme--big" / "blobs"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and process.poll() is None:
            partial = [p for p in blobs.glob("*.incomplete") if not p.name.endswith(".journal.incomplete")] \
                if blobs.exists() else []
            if partial and partial[0].stat().st_size > 0:
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        slow.stop()
    assert process.returncode == 3, (out, err)
    assert out.decode().strip() == "interrupted"

    fast = Server(hub.source, tmp_path)
    try:
        snapshot = hubload.download_model("acme/big", cache_dir=cache, endpoint=fast.url, token=False, progress=False)
        sent = fast.stats()["bytes_sent"]
    finally:
        fast.stop()
    assert (Path(snapshot) / "model.safetensors").read_bytes() == hub.big_bytes
    assert sent < len(hub.big_bytes)  # resumed: the interrupted bytes were kept


def test_progress_bar_when_asked(hub, tmp_path, capfd):
    hubload.download_model("acme/tiny", cache_dir=tmp_path / "quiet", endpoint=hub.url, token=False, progress=False)
    assert capfd.readouterr().err == ""
    hubload.download_model("acme/tiny", cache_dir=tmp_path / "bar", endpoint=hub.url, token=False, progress=True)
    err = capfd.readouterr().err
    assert "acme/tiny" in err and "100%" in err


def test_help_explains():
    assert "snapshot folder" in hubload.download_model.__doc__
    assert "local_files_only" in hubload.download_model.__doc__
    assert "zero-copy" in hubload.load_rank.__doc__.lower()
