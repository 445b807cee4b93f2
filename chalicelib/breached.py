"""New passwords against a list of breached ones (API.md "New passwords").

The list (``data/breached_passwords.txt.gz``, built by ``infra/build_breached_list.py``;
sources and licences in ``data/BREACHED-PASSWORDS.md``) ships with the package, so the
check needs no network. It is read on first use, by the steps that set a password only
(registration's password step, a reset's ``complete``, a change): a sign-in never pays
for it. Compared case-insensitively: a listed password with its capitals moved is the
first variant a guesser tries.
"""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

LIST = Path(__file__).parent / "data" / "breached_passwords.txt.gz"


@cache
def _listed() -> frozenset[str]:
    return frozenset(gzip.decompress(LIST.read_bytes()).decode().split("\n")) - {""}


def is_breached(password: str) -> bool:
    """Whether ``password`` (any case) appears in the shipped breached-password list."""
    return password.lower() in _listed()


def size() -> int:
    """How many passwords the list holds."""
    return len(_listed())
