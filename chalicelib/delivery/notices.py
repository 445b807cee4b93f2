"""Notices sent after a change is already stored: a failure is logged, never raised
(a notice never undoes the change it reports)."""

from __future__ import annotations

import logging

from chalicelib.deps import Deps
from chalicelib.errors import DeliveryFailed

log = logging.getLogger(__name__)


def notify_sms(deps: Deps, phone: str, text: str) -> None:
    """An SMS notice after a change is already stored; a failure is logged, not raised."""
    try:
        deps.sender.send_sms(phone, text)
    except DeliveryFailed:
        log.warning("notice sms not sent")


def notify(deps: Deps, email: str, message: tuple[str, str]) -> None:
    """Send a notice after a change is already stored; a failure is logged, not raised."""
    try:
        deps.sender.send_email(email, *message)
    except DeliveryFailed:
        log.warning("notice email not sent")
