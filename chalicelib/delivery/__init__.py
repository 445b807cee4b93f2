"""Delivery of emails and SMS behind one small interface."""

from __future__ import annotations

from typing import Protocol


class Sender(Protocol):
    """What the flows need from email and SMS delivery."""

    def send_email(self, to: str, subject: str, body: str) -> str:
        """Send a plain-text email; return the provider's message id."""
        ...

    def send_sms(self, to: str, body: str) -> str:
        """Send a transactional SMS to an E.164 number; return the message id."""
        ...

    def sms_opted_out(self, to: str) -> bool:
        """Whether the number has opted out of SMS (nothing would arrive)."""
        ...
