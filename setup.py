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


setup(ext_modules=cythonize([extension(m) for m in COMPILED], quiet=True))
