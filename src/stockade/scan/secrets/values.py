"""Whether a matched value looks like a secret, and whether its line asks to be left alone.

Generic rules (a keyword such as `password` followed by a value) match code and prose
far more often than secrets; a rule can ask for a value random enough (`entropy`, in bits
per character) and mixed enough (`character-classes`) before it counts. Any rule's match
is dropped on a line carrying an allow comment, as gitleaks, bandit and detect-secrets
let users mark a known value.
"""

from __future__ import annotations

import math
from collections import Counter

BINARY_SNIFF = 8000  # a NUL byte in this many first bytes makes a file binary: not scanned

# gitleaks, bandit (# nosec), detect-secrets and Trivy-style markers, lower case
ALLOW_COMMENTS = (b"gitleaks:allow", b"nosec", b"pragma: allowlist secret", b"stockade:allow")


def shannon_entropy(value: bytes) -> float:
    """Bits per character of `value` (0.0 for an empty value)."""
    if not value:
        return 0.0
    total = len(value)
    return -sum(n / total * math.log2(n / total) for n in Counter(value).values())


def character_classes(value: bytes) -> int:
    """How many of lower case, upper case, digits and other characters `value` mixes."""
    lower = upper = digit = other = 0
    for byte in value:
        if 97 <= byte <= 122:
            lower = 1
        elif 65 <= byte <= 90:
            upper = 1
        elif 48 <= byte <= 57:
            digit = 1
        else:
            other = 1
    return lower + upper + digit + other


def looks_secret(value: bytes, entropy: float, classes: int) -> bool:
    """True when `value` is random enough and mixes enough kinds of characters."""
    if classes and character_classes(value) < classes:
        return False
    return not entropy or shannon_entropy(value) >= entropy


def line_allows(content: bytes, start: int) -> bool:
    """True when the line holding `start` carries an allow comment."""
    line_start = content.rfind(b"\n", 0, start) + 1
    line_end = content.find(b"\n", start)
    line = content[line_start : line_end if line_end != -1 else len(content)].lower()
    return any(marker in line for marker in ALLOW_COMMENTS)
