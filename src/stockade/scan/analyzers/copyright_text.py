"""Licences of free-form (not DEP-5) Debian copyright files, found by classifying the text.

Like Trivy's classifier, it recognises licences by what their texts and notices say:
references to /usr/share/common-licenses, licence names with their version, and the
phrases that open well-known permissive licences. Pure: text in, SPDX ids out.
"""

from __future__ import annotations

import re

_COMMON = re.compile(r"/usr/share/common-licenses/([a-z0-9.+_-]+)")  # in normalized text
_COMMON_IDS = {
    "apache-2.0": "Apache-2.0",
    "artistic": "Artistic-1.0-Perl",
    "bsd": "BSD-3-Clause",
    "cc0-1.0": "CC0-1.0",
    "mpl-1.1": "MPL-1.1",
    "mpl-2.0": "MPL-2.0",
    "gfdl-1.2": "GFDL-1.2",
    "gfdl-1.3": "GFDL-1.3",
}
# (family as SPDX spells it, how texts name it); the Lesser/Library names come first
_GNU_FAMILIES = (
    ("LGPL", r"gnu (?:lesser|library) general public licen[cs]e|\blgpl"),
    ("AGPL", r"gnu affero general public licen[cs]e|\bagpl"),
    ("GFDL", r"gnu free documentation licen[cs]e"),
    ("GPL", r"gnu general public licen[cs]e|\bgpl"),
)
_ATTACHED_VERSION = re.compile(r"-?v?(\d(?:\.\d)?)\b")  # GPL-2, gplv3, LGPL-2.1
_VERSION = re.compile(r"\b(?:version|v\.)\s*(\d(?:\.\d)?)\b")
_VERSIONS = {  # the versions each family has: anything else was read from another text
    "GPL": ("1.0", "2.0", "3.0"),
    "LGPL": ("2.0", "2.1", "3.0"),
    "AGPL": ("1.0", "3.0"),
    "GFDL": ("1.1", "1.2", "1.3"),
}
_LATER = re.compile(r"any later version|or later")
_PHRASES = (
    ("MIT", "permission is hereby granted, free of charge, to any person obtaining a copy"),
    ("ISC", "permission to use, copy, modify, and/or distribute this software for any purpose"),
    ("Apache-2.0", "apache license, version 2.0"),
    ("Apache-2.0", "apache license version 2.0"),
    ("Zlib", "altered source versions must be plainly marked as such"),
    ("BSL-1.0", "boost software license"),
    ("PSF-2.0", "python software foundation license"),
    ("MPL-2.0", "mozilla public license, v. 2.0"),
    ("MPL-2.0", "mozilla public license version 2.0"),
    ("Unlicense", "this is free and unencumbered software released into the public domain"),
    ("OpenSSL", "openssl license"),
    ("Artistic-1.0-Perl", "same terms as perl itself"),
    ("GPL-1.0-or-later", "same terms as perl itself"),
    ("public-domain", "public domain"),
)
_BSD = "redistribution and use in source and binary forms"
_WINDOW = 300  # how far after a licence's name its version is looked for


def _normalized(text: str) -> str:
    return " ".join(text.lower().split())


def _gnu(text: str) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for family, pattern in _GNU_FAMILIES:
        for match in re.finditer(pattern, text):
            if any(a <= match.start() < b for a, b in taken):
                continue  # "gnu lesser general public license" holds no GPL of its own
            taken.append((match.start(), match.end()))
            window = text[match.start() : match.end() + _WINDOW]
            name_end = match.end() - match.start()
            version = _ATTACHED_VERSION.match(window, name_end) or _VERSION.search(window, name_end)
            if version is None:
                continue
            number = version.group(1)
            number = number if "." in number else f"{number}.0"
            if number not in _VERSIONS[family]:
                continue
            later = window.startswith("+", version.end()) or _LATER.search(
                window, version.end(), version.end() + 120
            )
            found.append((match.start(), f"{family}-{number}-{'or-later' if later else 'only'}"))
    return found


def _common_licenses(text: str) -> list[tuple[int, str]]:
    found = []
    for match in _COMMON.finditer(text):
        spdx = _COMMON_IDS.get(match.group(1).rstrip("."))
        if spdx is not None:
            found.append((match.start(), spdx))
    return found


def free_form_licenses(raw: str) -> list[str]:
    """The distinct SPDX ids a free-form copyright text names, in order of appearance."""
    text = _normalized(raw)
    found = _gnu(text) + _common_licenses(text)
    found += [(at, spdx) for spdx, phrase in _PHRASES if (at := text.find(phrase)) != -1]
    at = text.find(_BSD)
    if at != -1:
        if "advertising materials" in text:
            found.append((at, "BSD-4-Clause"))
        elif "neither the name" in text or "names of its contributors" in text:
            found.append((at, "BSD-3-Clause"))
        else:
            found.append((at, "BSD-2-Clause"))
    return list(dict.fromkeys(spdx for _, spdx in sorted(found)))
