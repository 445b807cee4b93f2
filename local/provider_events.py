"""Provider-shaped delivery events, as AWS sends them to the app's handlers.

Shapes follow AWS's documentation: SES event publishing records ("Examples of event
data that Amazon SES publishes to Amazon SNS") inside an SNS Lambda event, and SNS SMS
delivery status log entries inside a CloudWatch Logs subscription event. The dev stack
uses them to simulate receipts (moto has no SES event publishing and no SMS delivery
logs); the tests use them to feed the handlers real payloads.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import uuid
from typing import Any

ACCOUNT = "123456789012"
REGION = "ap-southeast-3"
SES_SOURCE = "no-reply@sandi.local"


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _mail(message_id: str, to: str, accepted_at: float) -> dict[str, Any]:
    return {
        "timestamp": _iso(accepted_at),
        "source": SES_SOURCE,
        "sourceArn": f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/sandi.local",
        "sendingAccountId": ACCOUNT,
        "messageId": message_id,
        "destination": [to],
        "headersTruncated": False,
        "tags": {"ses:configuration-set": ["sandi-local-events"], "ses:source-ip": ["192.0.2.0"]},
    }


def ses_delivery(message_id: str, to: str, accepted_at: float, at: float) -> dict[str, Any]:
    """An SES Delivery event."""
    return {
        "eventType": "Delivery",
        "mail": _mail(message_id, to, accepted_at),
        "delivery": {
            "timestamp": _iso(at),
            "processingTimeMillis": int((at - accepted_at) * 1000),
            "recipients": [to],
            "smtpResponse": "250 2.6.0 Message received",
            "reportingMTA": "a8-70.smtp-out.amazonses.com",
        },
    }


def ses_bounce(
    message_id: str, to: str, accepted_at: float, at: float, kind: str = "Permanent", sub: str = "General"
) -> dict[str, Any]:
    """An SES Bounce event (Permanent/General is what the mailbox simulator's bounce@ gives)."""
    return {
        "eventType": "Bounce",
        "mail": _mail(message_id, to, accepted_at),
        "bounce": {
            "bounceType": kind,
            "bounceSubType": sub,
            "bouncedRecipients": [
                {
                    "emailAddress": to,
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
            ],
            "timestamp": _iso(at),
            "feedbackId": str(uuid.uuid4()),
            "reportingMTA": "dsn; e226-55.smtp-out.amazonses.com",
        },
    }


def ses_complaint(message_id: str, to: str, accepted_at: float, at: float) -> dict[str, Any]:
    """An SES Complaint event (after a Delivery, as the mailbox simulator's complaint@ does)."""
    return {
        "eventType": "Complaint",
        "mail": _mail(message_id, to, accepted_at),
        "complaint": {
            "complainedRecipients": [{"emailAddress": to}],
            "timestamp": _iso(at),
            "feedbackId": str(uuid.uuid4()),
            "userAgent": "Amazon SES Mailbox Simulator",
            "complaintFeedbackType": "abuse",
            "arrivalDate": _iso(at),
        },
    }


def ses_reject(message_id: str, to: str, accepted_at: float) -> dict[str, Any]:
    """An SES Reject event (SES found a virus and did not send)."""
    return {"eventType": "Reject", "mail": _mail(message_id, to, accepted_at), "reject": {"reason": "Bad content"}}


def ses_delay(message_id: str, to: str, accepted_at: float, at: float) -> dict[str, Any]:
    """An SES DeliveryDelay event (SES keeps trying)."""
    return {
        "eventType": "DeliveryDelay",
        "mail": _mail(message_id, to, accepted_at),
        "deliveryDelay": {
            "timestamp": _iso(at),
            "delayType": "TransientCommunicationFailure",
            "expirationTime": _iso(at + 3600),
            "delayedRecipients": [{"emailAddress": to, "status": "4.4.1", "diagnosticCode": "smtp; 421 4.4.1"}],
        },
    }


def sns_lambda_event(message: dict[str, Any], topic: str = "sandi-local-ses-feedback") -> dict[str, Any]:
    """What Lambda receives from an SNS subscription, carrying ``message`` as JSON."""
    arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:{topic}"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{arn}:{uuid.uuid4()}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": str(uuid.uuid4()),
                    "TopicArn": arn,
                    "Subject": None,
                    "Message": json.dumps(message),
                    "Timestamp": _iso(dt.datetime.now(dt.UTC).timestamp()),
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://sns.ap-southeast-3.amazonaws.com/cert.pem",
                    "UnsubscribeUrl": "https://sns.ap-southeast-3.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": {},
                },
            }
        ]
    }


SMS_DELIVERED = "Message has been accepted by phone carrier"
SMS_UNREACHABLE = "Phone is currently unreachable/unavailable"


def sms_status(message_id: str, phone: str, accepted_at: float, provider_response: str) -> dict[str, Any]:
    """One SNS SMS delivery status log entry."""
    ok = provider_response == SMS_DELIVERED
    return {
        "notification": {
            "messageId": message_id,
            "timestamp": dt.datetime.fromtimestamp(accepted_at, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
        },
        "delivery": {
            "mnc": 10,
            "numberOfMessageParts": 1,
            "destination": phone,
            "priceInUSD": 0.0395,
            "smsType": "Transactional",
            "mcc": 510,
            "providerResponse": provider_response,
            "dwellTimeMs": 420,
            **({"dwellTimeMsUntilDeviceAck": 1800} if ok else {}),
        },
        "status": "SUCCESS" if ok else "FAILURE",
    }


def awslogs_event(entries: list[dict[str, Any]], failure: bool = False) -> dict[str, Any]:
    """A CloudWatch Logs subscription event carrying SNS SMS status log entries."""
    group = f"sns/{REGION}/{ACCOUNT}/DirectPublishToPhoneNumber" + ("/Failure" if failure else "")
    now_ms = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    body = {
        "messageType": "DATA_MESSAGE",
        "owner": ACCOUNT,
        "logGroup": group,
        "logStream": str(uuid.uuid4()),
        "subscriptionFilters": ["sandi-sms-receipts"],
        "logEvents": [
            {"id": str(36000000000 + i), "timestamp": now_ms, "message": json.dumps(e)} for i, e in enumerate(entries)
        ],
    }
    return {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(body).encode())).decode()}}
