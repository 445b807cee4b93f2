"""Domain errors and the one table that maps them to HTTP status, code and message.

Flows raise ``ApiError`` subclasses; ``app.py`` turns them into the contract's error
shape. Messages never carry a secret, a code or a full NIK: they are fixed strings
from ``MESSAGES``.
"""

from __future__ import annotations

from typing import Any

# code -> (status, {lang: message})
ERRORS: dict[str, tuple[int, dict[str, str]]] = {
    "malformed_request": (
        400,
        {
            "id": "Permintaan tidak dapat dibaca. Kirim objek JSON yang valid (maksimal 16 KiB).",
            "en": "The request could not be read. Send a valid JSON object (at most 16 KiB).",
        },
    ),
    "unauthenticated": (
        401,
        {
            "id": "Sesi Anda tidak valid atau sudah berakhir. Silakan masuk kembali.",
            "en": "Your session is invalid or has ended. Please sign in again.",
        },
    ),
    "invalid_credentials": (
        401,
        {
            "id": "Email/KPJ atau kata sandi/PIN salah.",
            "en": "Wrong email/KPJ or password/PIN.",
        },
    ),
    "forbidden": (
        403,
        {"id": "Anda tidak berhak melakukan tindakan ini.", "en": "You are not allowed to do this."},
    ),
    "not_found": (
        404,
        {"id": "Data yang diminta tidak ditemukan.", "en": "The requested resource was not found."},
    ),
    "nik_registered": (
        409,
        {
            "id": "NIK ini sudah terdaftar pada akun lain. Hubungi call center untuk mengatur ulang akun lama.",
            "en": "This NIK is already registered to an account. Ask the call center to reset the old account.",
        },
    ),
    "phone_registered": (
        409,
        {
            "id": "Nomor ponsel ini sudah terdaftar pada akun lain. Gunakan nomor lain.",
            "en": "This phone number is already registered to another account. Use another number.",
        },
    ),
    "passkey_registered": (
        409,
        {
            "id": "Passkey ini sudah terdaftar. Gunakan passkey lain atau masuk dengannya.",
            "en": "This passkey is already registered. Use another passkey or sign in with it.",
        },
    ),
    "passkey_limit": (
        409,
        {
            "id": "Akun ini sudah memiliki 10 passkey. Hapus satu sebelum menambah yang baru.",
            "en": "This account already has 10 passkeys. Remove one before adding another.",
        },
    ),
    "kpj_registered": (
        409,
        {
            "id": "Nomor KPJ ini sudah terdaftar pada akun lain. Hubungi call center.",
            "en": "This KPJ number is already registered to another account. Contact the call center.",
        },
    ),
    "wrong_state": (
        409,
        {
            "id": "Langkah ini tidak dapat dilakukan sekarang. Lanjutkan dari langkah terakhir.",
            "en": "This step cannot be done now. Continue from the current step.",
        },
    ),
    "email_registered_during_flow": (
        409,
        {
            "id": "Email ini sudah memiliki akun. Silakan masuk atau atur ulang kata sandi.",
            "en": "This email already has an account. Please sign in or reset your password.",
        },
    ),
    "flow_expired": (
        410,
        {
            "id": "Waktu proses ini sudah habis. Silakan mulai lagi.",
            "en": "This process has expired. Please start again.",
        },
    ),
    "code_expired": (
        410,
        {
            "id": "Kode verifikasi sudah kedaluwarsa. Minta kode baru.",
            "en": "The verification code has expired. Request a new code.",
        },
    ),
    "validation_error": (
        422,
        {"id": "Beberapa isian tidak valid.", "en": "Some fields are not valid."},
    ),
    "invalid_code": (
        422,
        {"id": "Kode verifikasi salah.", "en": "The verification code is wrong."},
    ),
    "identity_mismatch": (
        422,
        {
            "id": "Data yang Anda masukkan tidak cocok dengan data kami.",
            "en": "The data you entered does not match our records.",
        },
    ),
    "password_mismatch": (
        422,
        {
            "id": "Konfirmasi kata sandi tidak sama.",
            "en": "The password confirmation does not match.",
        },
    ),
    "pin_mismatch": (
        422,
        {"id": "Konfirmasi PIN tidak sama.", "en": "The PIN confirmation does not match."},
    ),
    "account_locked": (
        423,
        {
            "id": "Akun dikunci sementara karena terlalu banyak percobaan yang salah.",
            "en": "The account is temporarily locked after too many wrong attempts.",
        },
    ),
    "code_locked": (
        423,
        {
            "id": "Terlalu banyak kode salah. Minta kode baru.",
            "en": "Too many wrong codes. Request a new code.",
        },
    ),
    "resend_too_soon": (
        429,
        {
            "id": "Tunggu sebentar sebelum meminta kode baru.",
            "en": "Please wait before requesting a new code.",
        },
    ),
    "rate_limited": (
        429,
        {
            "id": "Terlalu banyak permintaan. Coba lagi nanti.",
            "en": "Too many requests. Please try again later.",
        },
    ),
    "delivery_unavailable": (
        503,
        {
            "id": "Kode tidak dapat dikirim saat ini. Coba lagi sebentar lagi.",
            "en": "The code cannot be sent right now. Please try again shortly.",
        },
    ),
    "service_busy": (
        503,
        {
            "id": "Layanan sedang sibuk. Coba lagi sebentar lagi.",
            "en": "The service is busy. Please try again shortly.",
        },
    ),
    "internal_error": (
        500,
        {"id": "Terjadi kesalahan. Coba lagi nanti.", "en": "Something went wrong. Please try again later."},
    ),
}

# Some situations share a contract code but deserve their own message.
_WIRE_CODE = {"email_registered_during_flow": "wrong_state", "service_busy": "internal_error"}


class ApiError(Exception):
    """An error the client sees: a contract code, optional details and headers."""

    def __init__(
        self,
        key: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(key)
        if key not in ERRORS:
            raise ValueError(f"unknown error key {key!r}")
        self.key = key
        self.details = details or {}
        self.headers = headers or {}

    @property
    def status(self) -> int:
        """The HTTP status of this error."""
        return ERRORS[self.key][0]

    @property
    def code(self) -> str:
        """The machine code a client branches on."""
        return _WIRE_CODE.get(self.key, self.key)

    def body(self, lang: str) -> dict[str, Any]:
        """The contract's error object, localized."""
        messages = ERRORS[self.key][1]
        err: dict[str, Any] = {"code": self.code, "message": messages.get(lang, messages["id"])}
        if self.details:
            err["details"] = self.details
        return {"error": err}


def validation_error(fields: dict[str, list[str]]) -> ApiError:
    """A 422 with per-field reason codes."""
    return ApiError("validation_error", {"fields": fields})


def retry_after(key: str, seconds: float, details: dict[str, Any] | None = None) -> ApiError:
    """An error carrying a ``Retry-After`` header (whole seconds, at least 1)."""
    secs = max(1, int(-(-seconds // 1)))
    merged = dict(details or {})
    merged.setdefault("retry_after", secs)
    return ApiError(key, merged, {"Retry-After": str(secs)})


class StorageUnavailable(Exception):
    """DynamoDB did not answer or refused for a transient reason."""


class DeliveryFailed(Exception):
    """SES or SNS refused or failed to take a message."""
