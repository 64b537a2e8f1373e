"""`pip install --no-build-isolation .`: the hubload Python package, its extension
built by CMake (-DHUBLOAD_PYTHON=ON) against the interpreter that runs pip.

Offline with Debian 12's setuptools, wheel and pybind11-dev (scripts/install-deps.sh).
HUBLOAD_CMAKE_ARGS adds configure arguments; HUBLOAD_BUILD_JOBS sets the parallel build.
HUBLOAD_CMAKE_BUILD_DIR names a build folder already configured with -DHUBLOAD_PYTHON=ON
(e.g. build/ after `make build`): the extension is built there, nothing is configured.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


def version() -> str:
    # project(VERSION) in CMakeLists.txt is the one copy of the version.
    match = re.search(r"project\(hubload VERSION ([0-9.]+)", (ROOT / "CMakeLists.txt").read_text())
    return match.group(1)


class CMakeBuild(build_ext):
    def build_extension(self, ext: Extension) -> None:
        existing = os.environ.get("HUBLOAD_CMAKE_BUILD_DIR")
        build_dir = Path(existing).resolve() if existing else Path(self.build_temp).resolve() / "cmake"
        if not existing:
            build_dir.mkdir(parents=True, exist_ok=True)
            configure = [
                "cmake", "-S", str(ROOT), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release", "-DHUBLOAD_PYTHON=ON",
                "-DHUBLOAD_BUILD_TESTS=OFF", "-DHUBLOAD_BUILD_BENCH=OFF", "-DHUBLOAD_BUILD_CLI=OFF",
                f"-DPython_EXECUTABLE={sys.executable}",
            ] + shlex.split(os.environ.get("HUBLOAD_CMAKE_ARGS", ""))
            subprocess.run(configure, check=True)
        jobs = os.environ.get("HUBLOAD_BUILD_JOBS", str(os.cpu_count() or 1))
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "hubload_python", "-j", jobs], check=True)
        built = next((build_dir / "python" / "hubload").glob("_native*.so"))
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        self.copy_file(str(built), str(target))


setup(
    name="hubload",
    version=version(),
    description="Hugging Face models into the Hub cache, safetensors and tensor-parallel rank loads, fast",
    long_description=(ROOT / "docs" / "python.md").read_text() if (ROOT / "docs" / "python.md").exists() else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    package_dir={"": "python"},
    packages=["hubload"],
    package_data={"hubload": ["py.typed", "*.pyi"]},
    ext_modules=[Extension("hubload._native", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    extras_require={"numpy": ["numpy"], "torch": ["torch", "numpy"], "progress": ["tqdm"]},
    zip_safe=False,
    # setuptools' own folders under CMake's build/, apart from a CMake build there.
    options={"build": {"build_base": "build/setuptools"}, "egg_info": {"egg_base": "build/setuptools"}},
)
