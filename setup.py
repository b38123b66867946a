"""The one compiled module: the decoder's readers (everything else is in pyproject.toml).

It is optional: where it cannot be built, the pure-Python readers it mirrors are used.
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

READERS = Extension(
    "stockade.sensor.bpf._readers",
    ["src/stockade/sensor/bpf/_readers.pyx"],
    extra_compile_args=["-O2"],
    optional=True,
)

setup(ext_modules=cythonize([READERS], quiet=True))
