"""Every exception class Stockade defines descends from `StockadeError`."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

import stockade
from stockade.errors import StockadeError

# Exceptions used for control flow rather than to report a problem: none today. One added
# here must never reach a user.
CONTROL_FLOW: frozenset[str] = frozenset()


def _all_subclasses(cls: type[BaseException]) -> Iterator[type[BaseException]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def stockade_exceptions() -> set[type[BaseException]]:
    """Every exception class defined in a module of the package (all modules imported)."""
    for module in pkgutil.walk_packages(stockade.__path__, "stockade."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    return {c for c in _all_subclasses(BaseException) if c.__module__.startswith("stockade.")}


def _name(cls: type[BaseException]) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def test_every_exception_descends_from_stockade_error() -> None:
    found = stockade_exceptions()
    strays = {_name(c) for c in found if not issubclass(c, StockadeError)}
    assert strays - CONTROL_FLOW == set()
    assert len(found) > 40  # the walk did import the packages


def _package(cls: type[BaseException]) -> str:
    return cls.__module__.split(".")[1]


def test_each_package_has_one_root() -> None:
    roots: dict[str, set[str]] = {}
    for cls in stockade_exceptions():
        if issubclass(cls, StockadeError) and cls is not StockadeError:
            mro = cls.__mro__
            root = mro[mro.index(StockadeError) - 1]
            roots.setdefault(_package(cls), set()).add(_name(root))
    assert {package: names for package, names in roots.items() if len(names) > 1} == {}
    assert roots["scan"] == {"stockade.scan.errors.ScanError"}


def test_value_error_bases_are_kept_where_callers_rely_on_them() -> None:
    from stockade.registry import DuplicateRegistrationError
    from stockade.rules.escaping import EscapeError
    from stockade.scan.versions.base import VersionError
    from stockade.sensor.bpf.decoder_kinds import DecodeError

    for cls in (DuplicateRegistrationError, EscapeError, VersionError, DecodeError):
        assert issubclass(cls, ValueError) and issubclass(cls, StockadeError), cls
