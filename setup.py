"""What is compiled when the package is built (everything else is in pyproject.toml).

The hot path's Cython modules, each optional and mirroring Python code that stays the
reference; and the CO-RE eBPF object, shipped so that hosts need no clang or bpftool
(where it cannot be built here, hosts build it themselves).
"""

import sys
import warnings
from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_py import build_py

COMPILED = {
    "stockade.sensor.bpf._readers": "the decoder's readers of frequent record kinds",
    "stockade.context._batch": "the context stage's loop over a batch",
}


def extension(module: str) -> Extension:
    source = "src/" + module.replace(".", "/") + ".pyx"
    return Extension(module, [source], extra_compile_args=["-O2"], optional=True)


def generated_c(module: str) -> tuple[str, list[str]]:
    """The C file Cython writes beside a module's .pyx: a build input, never package data."""
    package, _, name = module.rpartition(".")
    return package, [f"{name}.c"]


class BuildPyWithBpfObject(build_py):
    """build_py, then the CO-RE object compiled into the built package (not in editable mode)."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install runs from the tree: its host build is the object
        sys.path.insert(0, str(Path("src").resolve()))
        from stockade.sensor.bpf.shipped import write_shipped

        try:
            write_shipped(Path(self.build_lib) / "stockade" / "sensor" / "bpf")
        except Exception as e:  # optional, as the Cython modules are: hosts build it instead
            warnings.warn(f"CO-RE object not shipped (hosts will build it): {e}", stacklevel=1)


setup(
    cmdclass={"build_py": BuildPyWithBpfObject},
    ext_modules=cythonize([extension(m) for m in COMPILED], quiet=True),
    exclude_package_data=dict(generated_c(m) for m in COMPILED),
)
