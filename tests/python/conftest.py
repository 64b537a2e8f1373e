"""Fixtures of the hubload Python tests: a Hub cache written here and served by
`hubload serve` on 127.0.0.1 (a free port), safetensors files written by an
independent writer, and a reader that parses them without hubload."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
GATE_TOKEN = "hf_secret_token"


def hubload_cli() -> str:
    return os.environ.get("HUBLOAD_CLI") or str(ROOT / "build" / "bin" / "hubload")


# ---- safetensors without hubload ------------------------------------------------

NUMPY = {"BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "I16": np.int16, "U16": np.uint16, "F16": np.float16,
         "BF16": np.uint16, "I32": np.int32, "U32": np.uint32, "F32": np.float32, "F64": np.float64,
         "C64": np.complex64, "I64": np.int64, "U64": np.uint64, "F8_E4M3": np.uint8, "F8_E5M2": np.uint8}


def write_safetensors(path: Path, tensors: dict, metadata: dict | None = None) -> None:
    """tensors: name -> (dtype string, numpy array holding the bits)."""
    header, blobs, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, (dtype, array) in tensors.items():
        data = np.ascontiguousarray(array).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_safetensors(path: Path) -> dict:
    """name -> (dtype, numpy array of the bits), parsed here with struct and json."""
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        data = raw[8 + n + begin:8 + n + end]
        out[name] = (entry["dtype"], np.frombuffer(data, dtype=NUMPY[entry["dtype"]]).reshape(entry["shape"]).copy())
    return out


def random_bits(dtype: str, shape, rng: np.random.Generator) -> np.ndarray:
    """Valid values of each dtype (floats without NaN, so that equality is exact)."""
    if dtype == "BOOL":
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    if dtype == "BF16":
        return (rng.standard_normal(shape).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    if dtype in ("F16", "F32", "F64"):
        return rng.standard_normal(shape).astype(NUMPY[dtype])
    if dtype == "C64":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)
    if dtype.startswith("F8"):
        bits = rng.integers(0, 256, size=shape, dtype=np.uint8)
        return np.where((bits & 0x7F) == 0x7F, 0, bits).astype(np.uint8)  # no NaN patterns
    info = np.iinfo(NUMPY[dtype])
    return rng.integers(info.min, info.max, size=shape, dtype=NUMPY[dtype], endpoint=True)


# ---- generated Llama ---------------------------------------------------------------

@pytest.fixture(scope="session")
def llama(tmp_path_factory) -> Path:
    """scripts/gen-model.py's small preset: two bf16 shards and an index (about 7 MB)."""
    out = tmp_path_factory.mktemp("llama") / "model"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "gen-model.py"), str(out), "--preset", "small"],
                   check=True, capture_output=True)
    return out


# ---- a Hub cache served by `hubload serve` -------------------------------------------

def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def write_cache_repo(cache: Path, repo_id: str, revisions: dict) -> dict:
    """revisions: ref name ("main", "v1.0", "refs/pr/1") -> {path: bytes}. Returns ref -> commit."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    commits = {}
    for ref, files in revisions.items():
        commit = hashlib.sha1(f"{repo_id}@{ref}".encode()).hexdigest()
        commits[ref] = commit
        for path, data in files.items():
            lfs = path.endswith(".safetensors")
            etag = hashlib.sha256(data).hexdigest() if lfs else git_blob_sha1(data)
            blob = repo / "blobs" / etag
            blob.parent.mkdir(parents=True, exist_ok=True)
            blob.write_bytes(data)
            link = repo / "snapshots" / commit / path
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(os.path.relpath(blob, link.parent))
        ref_file = repo / "refs" / ref
        ref_file.parent.mkdir(parents=True, exist_ok=True)
        ref_file.write_text(commit)
    return commits


class Server:
    """`hubload serve --test-mode` over a cache, on 127.0.0.1 and a free port."""

    def __init__(self, cache: Path, workdir: Path, *extra: str):
        port_file = workdir / f"port-{time.monotonic_ns()}"
        self.process = subprocess.Popen(
            [hubload_cli(), "serve", "--cache", str(cache), "--host", "127.0.0.1", "--port", "0",
             "--port-file", str(port_file), "--test-mode", *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while not port_file.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"hubload serve did not start: {self.process.stderr.read().decode()}")
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{int(port_file.read_text())}"

    def stats(self) -> dict:
        with urllib.request.urlopen(self.url + "/_hubload/stats", timeout=10) as response:
            return json.load(response)

    def requests(self) -> int:
        """Requests answered so far, the stats requests left out."""
        return sum(n for key, n in self.stats()["requests"].items() if not key.startswith("GET /_hubload/"))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def safetensors_bytes(tensors: dict) -> bytes:
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"hubload-st-{os.getpid()}-{time.monotonic_ns()}"
    try:
        write_safetensors(path, tensors)
        return path.read_bytes()
    finally:
        path.unlink(missing_ok=True)


def tiny_weights(seed: int) -> bytes:
    return safetensors_bytes({"w": ("F32", np.arange(12, dtype=np.float32).reshape(3, 4) * seed)})


class Hub:
    """The served repos: acme/tiny (main, tag v1.0, refs/pr/1), acme/gated, acme/big."""

    def __init__(self, root: Path):
        self.source = root / "source-cache"
        self.tiny_files = {
            "main": {"config.json": b'{"model_type": "llama", "rev": "main"}', "model.safetensors": tiny_weights(1),
                     "README.md": b"# tiny\n"},
            "v1.0": {"config.json": b'{"model_type": "llama", "rev": "v1.0"}', "model.safetensors": tiny_weights(2)},
            "refs/pr/1": {"config.json": b'{"model_type": "llama", "rev": "pr1"}',
                          "model.safetensors": tiny_weights(3)},
        }
        self.tiny = write_cache_repo(self.source, "acme/tiny", self.tiny_files)
        write_cache_repo(self.source, "acme/gated", {"main": {"config.json": b'{"model_type": "llama"}'}})
        self.big_bytes = np.random.default_rng(7).integers(0, 256, size=3 << 20, dtype=np.uint8).tobytes()
        write_cache_repo(self.source, "acme/big", {"main": {"config.json": b"{}", "model.safetensors": self.big_bytes}})
        self.server = Server(self.source, root, "--gated", f"acme/gated={GATE_TOKEN}")
        self.url = self.server.url


@pytest.fixture(scope="session")
def hub(tmp_path_factory):
    hub = Hub(tmp_path_factory.mktemp("hub"))
    yield hub
    hub.server.stop()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """No token, endpoint or offline switch of the machine leaks into a test."""
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_ENDPOINT",
                 "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
