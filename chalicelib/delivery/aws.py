"""SES email and SNS SMS adapters.

Any provider error becomes ``DeliveryFailed`` so the flow can undo what it wrote and
answer ``503 delivery_unavailable``. Neither the address nor the text reaches the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from chalicelib.errors import DeliveryFailed

log = logging.getLogger(__name__)

ClientFactory = Callable[[], Any]


def _provider_errors() -> tuple[type[BaseException], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


class SesEmailSender:
    """Sends plain-text email through SES."""

    def __init__(self, client: ClientFactory, source: str, configuration_set: str = "") -> None:
        self._client = client
        self._source = source
        # Sent through the configuration set, SES reports each message's outcome.
        self._extra = {"ConfigurationSetName": configuration_set} if configuration_set else {}

    def send_email(self, to: str, subject: str, body: str) -> str:
        """Send one email; raise DeliveryFailed on any SES error."""
        try:
            response = self._client().send_email(
                Source=self._source,
                Destination={"ToAddresses": [to]},
                Message={
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": body, "Charset": "UTF-8"}},
                },
                **self._extra,
            )
        except _provider_errors() as exc:
            log.warning("ses send failed: %s", type(exc).__name__)
            raise DeliveryFailed("email") from exc
        return str(response["MessageId"])


class SnsSmsSender:
    """Sends transactional SMS through SNS."""

    def __init__(self, client: ClientFactory, sender_id: str) -> None:
        self._client = client
        self._sender_id = sender_id

    def send_sms(self, to: str, body: str) -> str:
        """Send one SMS; raise DeliveryFailed on any SNS error."""
        attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
        if self._sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": self._sender_id}
        try:
            response = self._client().publish(PhoneNumber=to, Message=body, MessageAttributes=attributes)
        except _provider_errors() as exc:
            log.warning("sns publish failed: %s", type(exc).__name__)
            raise DeliveryFailed("sms") from exc
        return str(response["MessageId"])

    def sms_opted_out(self, to: str) -> bool:
        """Ask SNS whether the number opted out; if SNS cannot say, try sending anyway."""
        try:
            response = self._client().check_if_phone_number_is_opted_out(phoneNumber=to)
        except _provider_errors() as exc:
            log.warning("sns opt-out check failed: %s", type(exc).__name__)
            return False
        return bool(response.get("isOptedOut"))


class AwsSender:
    """The production Sender: SES for email, SNS for SMS."""

    def __init__(self, email: SesEmailSender, sms: SnsSmsSender) -> None:
        self._email = email
        self._sms = sms

    def send_email(self, to: str, subject: str, body: str) -> str:
        """Send an email through SES."""
        return self._email.send_email(to, subject, body)

    def send_sms(self, to: str, body: str) -> str:
        """Send an SMS through SNS."""
        return self._sms.send_sms(to, body)

    def sms_opted_out(self, to: str) -> bool:
        """Whether SNS says the number opted out."""
        return self._sms.sms_opted_out(to)
