"""The compiled modules of the hot path (everything else is in pyproject.toml).

Each is optional and mirrors Python code that stays the reference: where one cannot be
built, that Python code runs instead.
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

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


setup(
    ext_modules=cythonize([extension(m) for m in COMPILED], quiet=True),
    exclude_package_data=dict(generated_c(m) for m in COMPILED),
)
