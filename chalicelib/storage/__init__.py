"""DynamoDB storage: models and the conditional writes the flows rely on."""

from __future__ import annotations


def account_claims(email_lower: str, nik_hash: str, phone: str, kpj: str) -> dict[str, str]:
    """The four claim keys an account holds, by kind."""
    return {
        "email": claim_key("email", email_lower),
        "nik": claim_key("nik", nik_hash),
        "phone": claim_key("phone", phone),
        "kpj": claim_key("kpj", kpj),
    }


def claim_key(kind: str, value: str) -> str:
    """The key of a uniqueness claim: ``email#…``, ``nik#<hmac>``, ``phone#+62…``, ``kpj#…``."""
    return f"{kind}#{value}"
