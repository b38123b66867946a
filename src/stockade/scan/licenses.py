"""Licence names as packages spell them, turned into SPDX ids where the mapping is certain.

One table for every ecosystem (Python metadata and classifiers, Maven POMs, Debian
copyright files); a name it does not know is kept as written, and the SPDX writer turns
it into a `LicenseRef-`.
"""

from __future__ import annotations

import re

_SPDX_BY_NAME = {
    "MIT": ("mit", "mit license", "the mit license", "expat", "mit/expat", "mit-0 license"),
    "Apache-2.0": (
        "apache 2", "apache 2.0", "apache-2", "apache2", "apache license 2.0",
        "apache license, version 2.0", "apache license version 2.0", "apache software license",
        "apache software license 2.0", "apache software license, version 2.0",
        "the apache software license, version 2.0", "the apache license, version 2.0",
        "asl 2.0", "al2", "apache license (2.0)", "apache-2.0 license", "apache 2.0 license",
        "apache license 2", "apache license, version 2",
    ),
    "BSD-3-Clause": (
        "bsd-3", "bsd 3-clause", "3-clause bsd", "bsd 3-clause license", "new bsd",
        "new bsd license", "modified bsd", "modified bsd license", "the 3-clause bsd license",
        "bsd-3-clause license", "revised bsd license", "the bsd 3-clause license",
        "3-clause bsd license",
    ),
    "BSD-2-Clause": (
        "bsd-2", "bsd 2-clause", "2-clause bsd", "simplified bsd", "freebsd",
        "bsd 2-clause license", "the 2-clause bsd license", "simplified bsd license",
        "the bsd 2-clause license",
    ),
    "ISC": ("isc", "isc license", "isc license (iscl)", "iscl"),
    "PSF-2.0": ("psf", "psf license", "psfl", "python software foundation license", "psf-2.0"),
    "GPL-2.0-only": ("gplv2", "gpl-2", "gpl v2", "gnu general public license v2 (gplv2)"),
    "GPL-2.0-or-later": ("gplv2+", "gpl-2+", "gnu general public license v2 or later (gplv2+)"),
    "GPL-3.0-only": ("gplv3", "gpl-3", "gpl v3", "gnu general public license v3 (gplv3)"),
    "GPL-3.0-or-later": ("gplv3+", "gpl-3+", "gnu general public license v3 or later (gplv3+)"),
    "LGPL-2.0-only": ("lgplv2", "gnu lesser general public license v2 (lgplv2)"),
    "LGPL-2.0-or-later": ("lgplv2+", "gnu lesser general public license v2 or later (lgplv2+)"),
    "LGPL-2.1-only": ("lgplv2.1", "lgpl-2.1", "lgpl 2.1"),
    "LGPL-2.1-or-later": ("lgplv2.1+", "lgpl-2.1+"),
    "LGPL-3.0-only": ("lgplv3", "lgpl-3", "gnu lesser general public license v3 (lgplv3)"),
    "LGPL-3.0-or-later": ("lgplv3+", "gnu lesser general public license v3 or later (lgplv3+)"),
    "AGPL-3.0-only": ("agplv3", "gnu affero general public license v3"),
    "AGPL-3.0-or-later": ("agplv3+", "gnu affero general public license v3 or later (agplv3+)"),
    "MPL-2.0": ("mpl-2", "mpl 2.0", "mpl2", "mozilla public license 2.0 (mpl 2.0)",
                "mozilla public license 2.0", "mozilla public license, version 2.0"),
    "MPL-1.1": ("mpl 1.1", "mozilla public license 1.1 (mpl 1.1)"),
    "EPL-1.0": ("epl 1.0", "eclipse public license 1.0", "eclipse public license - v 1.0"),
    "EPL-2.0": ("epl 2.0", "eclipse public license 2.0 (epl-2.0)", "eclipse public license - v 2.0",
                "eclipse public license v2.0", "eclipse public license 2.0"),
    "BSL-1.0": ("boost", "boost software license 1.0 (bsl-1.0)", "boost software license 1.0"),
    "Unlicense": ("unlicense", "the unlicense", "the unlicense (unlicense)"),
    "CC0-1.0": ("cc0", "cc0 1.0 universal", "cc0 1.0 universal (cc0 1.0) public domain dedication"),
    "ZPL-2.1": ("zpl 2.1", "zope public license", "zpl"),
    "Zlib": ("zlib", "zlib license", "zlib/libpng license"),
    "CDDL-1.0": ("cddl", "cddl 1.0", "common development and distribution license 1.0"),
    "EUPL-1.2": ("eupl 1.2", "european union public licence 1.2 (eupl 1.2)"),
}  # fmt: skip
_SPDX = {alias: spdx for spdx, aliases in _SPDX_BY_NAME.items() for alias in aliases}
_SPDX.update({spdx.lower(): spdx for spdx in _SPDX_BY_NAME})
_SPACES = re.compile(r"\s+")
CLASSIFIER_PREFIX = "License :: "


def spdx_or_name(name: str) -> str:
    """The SPDX id of a licence name when the table knows it; else the name as written."""
    cleaned = _SPACES.sub(" ", name.strip())
    return _SPDX.get(cleaned.lower().rstrip("."), cleaned)


def from_classifier(classifier: str) -> str | None:
    """`License :: OSI Approved :: MIT License` -> MIT; None for other classifiers and for
    the bare `License :: OSI Approved` (it names no licence)."""
    if not classifier.startswith(CLASSIFIER_PREFIX) or classifier.count("::") < 2:
        return None
    return spdx_or_name(classifier.rsplit(" :: ", 1)[-1])
