"""Message texts in Indonesian (default) and English.

Code messages put the code first (so it shows in a notification preview), then how
long it is valid, then a warning never to share it. The SMS ends with the autofill
lines when configured: the Android SMS Retriever hash, and the iOS domain-bound line
``@domain #code``, which Apple requires to be the last line.
"""

from __future__ import annotations

LANGS = ("id", "en")

_PURPOSE = {
    "registration": {"id": "pendaftaran akun", "en": "account registration"},
    "password_reset": {"id": "atur ulang kata sandi", "en": "password reset"},
    "pin_reset": {"id": "atur ulang PIN", "en": "PIN reset"},
    "email_change": {"id": "perubahan email", "en": "email change"},
    "phone_change": {"id": "perubahan nomor ponsel", "en": "phone number change"},
}

_CODE_EMAIL = {
    "id": (
        "{code} adalah kode verifikasi {app} Anda",
        "{code}\n\n"
        "Ini adalah kode verifikasi {app} untuk {purpose}. Kode berlaku {minutes} menit "
        "dan hanya dapat dipakai sekali.\n\n"
        "JANGAN berikan kode ini kepada siapa pun, termasuk petugas {app}. Kami tidak "
        "pernah meminta kode ini melalui telepon, SMS, atau media sosial.\n\n"
        "Jika Anda tidak meminta kode ini, abaikan email ini.",
    ),
    "en": (
        "{code} is your {app} verification code",
        "{code}\n\n"
        "This is your {app} verification code for {purpose}. It is valid for {minutes} "
        "minutes and can be used once.\n\n"
        "NEVER share this code with anyone, including {app} staff. We never ask for it "
        "by phone, SMS or social media.\n\n"
        "If you did not ask for this code, ignore this email.",
    ),
}

_CODE_SMS = {
    "id": "{code} adalah kode {app} Anda untuk {purpose}. Berlaku {minutes} menit. JANGAN berikan kepada siapa pun.",
    "en": "{code} is your {app} code for {purpose}. Valid for {minutes} minutes. NEVER share it with anyone.",
}

_ACCOUNT_EXISTS_CHANGE = {
    "id": (
        "{app}: email ini sudah memiliki akun",
        "Seseorang meminta agar email sebuah akun {app} diganti ke alamat ini, tetapi "
        "alamat ini sudah dipakai akun lain, jadi tidak ada kode yang dikirim.\n\n"
        "Jika bukan Anda, abaikan email ini.",
    ),
    "en": (
        "{app}: this email already has an account",
        "Someone asked to move an {app} account to this address, but it already "
        "belongs to another account, so no code was sent.\n\n"
        "If it was not you, ignore this email.",
    ),
}

_ACCOUNT_EXISTS = {
    "id": (
        "Pendaftaran {app}: email ini sudah memiliki akun",
        "Seseorang (mungkin Anda) mencoba mendaftar di {app} dengan alamat email ini, "
        "tetapi alamat ini sudah memiliki akun.\n\n"
        "Silakan masuk dengan email atau nomor KPJ Anda. Jika lupa kata sandi, pilih "
        '"Lupa kata sandi" di aplikasi.\n\n'
        "Jika bukan Anda yang mencoba mendaftar, abaikan email ini. Akun Anda tetap aman.",
    ),
    "en": (
        "{app} registration: this email already has an account",
        "Someone (perhaps you) tried to register with {app} using this email address, "
        "but it already has an account.\n\n"
        "Please sign in with your email or KPJ number. If you forgot your password, "
        'choose "Forgot password" in the app.\n\n'
        "If it was not you, ignore this email. Your account is safe.",
    ),
}


def pick_lang(lang: str) -> str:
    """A supported language, Indonesian when unsure."""
    return lang if lang in LANGS else "id"


def code_email(lang: str, code: str, ttl_seconds: int, purpose: str, app: str) -> tuple[str, str]:
    """Subject and body of an email carrying a code."""
    lang = pick_lang(lang)
    subject, body = _CODE_EMAIL[lang]
    values = {
        "code": code,
        "app": app,
        "purpose": _PURPOSE[purpose][lang],
        "minutes": max(1, ttl_seconds // 60),
    }
    return subject.format(**values), body.format(**values)


def code_sms(
    lang: str,
    code: str,
    ttl_seconds: int,
    purpose: str,
    app: str,
    autofill_domain: str = "",
    android_hash: str = "",
) -> str:
    """The text of an SMS carrying a code, with autofill lines when configured."""
    lang = pick_lang(lang)
    text = _CODE_SMS[lang].format(
        code=code, app=app, purpose=_PURPOSE[purpose][lang], minutes=max(1, ttl_seconds // 60)
    )
    autofill = []
    if android_hash:
        autofill.append(android_hash)
    if autofill_domain:
        autofill.append(f"@{autofill_domain} #{code}")
    return text + "\n\n" + "\n".join(autofill) if autofill else text


def account_exists_email(lang: str, app: str, purpose: str = "registration") -> tuple[str, str]:
    """Subject and body of the notice sent instead of a code to a registered address."""
    table = _ACCOUNT_EXISTS_CHANGE if purpose == "email_change" else _ACCOUNT_EXISTS
    subject, body = table[pick_lang(lang)]
    return subject.format(app=app), body.format(app=app)


_EMAIL_REMINDER = {
    "id": (
        "{app}: email akun Anda {email}. Masuk dengan email ini atau nomor KPJ. "
        "Lupa kata sandi? Pilih Lupa kata sandi di aplikasi."
    ),
    "en": (
        "{app}: your account email is {email}. Sign in with it or your KPJ number. "
        "Forgot the password? Choose Forgot password in the app."
    ),
}


def email_reminder_sms(lang: str, app: str, masked_email: str) -> str:
    """The forgot-email SMS: the masked address and how to sign in."""
    return _EMAIL_REMINDER[pick_lang(lang)].format(app=app, email=masked_email)


_DELETED = {
    "id": (
        "{app}: akun Anda telah dihapus",
        "Akun {app} Anda telah dihapus atas permintaan Anda. Data pribadi Anda sudah kami hapus dan semua "
        "perangkat telah keluar. Email, NIK, nomor ponsel, dan KPJ Anda dapat dipakai untuk mendaftar lagi. "
        "Jika bukan Anda yang menghapus, segera hubungi call center.",
    ),
    "en": (
        "{app}: your account was deleted",
        "Your {app} account was deleted at your request. Your personal data has been erased and every device "
        "signed out. Your email, NIK, phone number and KPJ can be used to register again. If this was not you, "
        "call the call center at once.",
    ),
}


def account_deleted_email(lang: str, app: str) -> tuple[str, str]:
    """The confirmation sent to the old address after a member deleted their account."""
    subject, body = _DELETED[pick_lang(lang)]
    return subject.format(app=app), body.format(app=app)
