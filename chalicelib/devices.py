"""A short, human description of a device from its User-Agent (never the header itself)."""

from __future__ import annotations

import re

_OS = (
    (re.compile(r"Android[ /]?([0-9]+)"), "Android {}"),
    (re.compile(r"(?:iPhone|iPad|CPU) OS ([0-9]+)"), "iOS {}"),
    (re.compile(r"\biOS[ /]([0-9]+)"), "iOS {}"),
    (re.compile(r"Windows NT"), "Windows"),
    (re.compile(r"Mac OS X"), "macOS"),
    (re.compile(r"CrOS"), "ChromeOS"),
    (re.compile(r"Linux"), "Linux"),
)
# Order matters: Edge and Opera also say Chrome, Chrome also says Safari.
_CLIENT = (
    (re.compile(r"\bSandi/([0-9]+(?:\.[0-9]+)?)"), "Sandi app {}"),
    (re.compile(r"\bEdg(?:e|A|iOS)?/"), "Edge"),
    (re.compile(r"\bOPR/"), "Opera"),
    (re.compile(r"\bSamsungBrowser/"), "Samsung Internet"),
    (re.compile(r"\b(?:Chrome|CriOS)/"), "Chrome"),
    (re.compile(r"\b(?:Firefox|FxiOS)/"), "Firefox"),
    (re.compile(r"\bVersion/[0-9.]+ .*Safari/"), "Safari"),
    (re.compile(r"\bokhttp/"), "Android app"),
    (re.compile(r"\bCFNetwork/"), "iOS app"),
    (re.compile(r"\bDart/"), "Flutter app"),
)
UNKNOWN = "Unknown device"


def describe(user_agent: str | None) -> str:
    """``Chrome on Android 14``, ``Sandi app 2.3 on iOS 17``, or ``Unknown device``."""
    text = (user_agent or "")[:512]
    os_name = next((label.format(*m.groups()) for rx, label in _OS if (m := rx.search(text))), "")
    client = next((label.format(*m.groups()) for rx, label in _CLIENT if (m := rx.search(text))), "")
    if client and os_name:
        return f"{client} on {os_name}"
    return client or os_name or UNKNOWN
