"""DynamoDB storage: models and the conditional writes the flows rely on."""

from __future__ import annotations


def claim_key(kind: str, value: str) -> str:
    """The key of a uniqueness claim: ``email#…``, ``nik#<hmac>``, ``phone#+62…``, ``kpj#…``."""
    return f"{kind}#{value}"
