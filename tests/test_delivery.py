"""Message texts in both languages, and what a provider failure does."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.delivery import templates
from chalicelib.delivery.aws import SesEmailSender, SnsSmsSender
from chalicelib.errors import DeliveryFailed
from tests.conftest import REGION, Outbox


@pytest.mark.parametrize(
    ("lang", "validity", "warning"),
    [("id", "berlaku 5 menit", "JANGAN berikan"), ("en", "valid for 5 minutes", "NEVER share")],
)
def test_code_email_puts_code_first_then_validity_then_warning(lang: str, validity: str, warning: str) -> None:
    subject, body = templates.code_email(lang, "042817", 300, "registration", "Sandi")
    assert subject.startswith("042817") and body.startswith("042817")
    assert body.index(validity) < body.index(warning)


@pytest.mark.parametrize(("lang", "words"), [("id", "Berlaku 5 menit"), ("en", "Valid for 5 minutes")])
def test_code_sms_text(lang: str, words: str) -> None:
    text = templates.code_sms(lang, "042817", 300, "registration", "Sandi")
    assert text.startswith("042817") and words in text
    assert len(text) <= 160  # one GSM-7 segment


def test_sms_autofill_lines_end_the_message() -> None:
    text = templates.code_sms("id", "042817", 300, "registration", "Sandi", "sandi.example", "FA+9qCX9VSu")
    lines = text.splitlines()
    assert lines[-1] == "@sandi.example #042817"  # iOS: the last line
    assert lines[-2] == "FA+9qCX9VSu"  # Android SMS Retriever hash


def test_unknown_language_falls_back_to_indonesian() -> None:
    assert templates.code_email("fr", "111111", 300, "registration", "Sandi")[0].endswith("Anda")


def test_account_exists_notice_has_no_code_and_says_what_to_do() -> None:
    for lang, hint in (("id", "Lupa kata sandi"), ("en", "Forgot password")):
        subject, body = templates.account_exists_email(lang, "Sandi")
        assert hint in body and not any(c.isdigit() for c in subject + body)


def test_ses_sends_through_the_emulator(mock_aws_env: None, outbox: Outbox) -> None:
    sender = SesEmailSender(lambda: boto3.client("ses", region_name=REGION), "Sandi <no-reply@sandi.local>")
    assert sender.send_email("a@example.com", "s", "b")
    assert outbox.emails("a@example.com")[-1].body == "b"


def test_ses_refusal_is_a_delivery_failure(mock_aws_env: None, outbox: Outbox) -> None:
    # moto refuses an unverified sender exactly as SES does (MessageRejected)
    sender = SesEmailSender(lambda: boto3.client("ses", region_name=REGION), "spoof@elsewhere.example")
    with pytest.raises(DeliveryFailed):
        sender.send_email("a@example.com", "s", "b")
    assert outbox.emails() == []


def test_sns_sends_transactional_sms_with_sender_id(mock_aws_env: None, outbox: Outbox) -> None:
    client = boto3.client("sns", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_response(
            "publish",
            {"MessageId": "m-1"},
            {
                "PhoneNumber": "+6281234567890",
                "Message": "hello",
                "MessageAttributes": {
                    "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
                    "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": "SANDI"},
                },
            },
        )
        assert SnsSmsSender(lambda: client, "SANDI").send_sms("+6281234567890", "hello") == "m-1"
        stub.assert_no_pending_responses()


def test_sns_refusal_is_a_delivery_failure(mock_aws_env: None, outbox: Outbox) -> None:
    sender = SnsSmsSender(lambda: boto3.client("sns", region_name=REGION), "SANDI")
    with pytest.raises(DeliveryFailed):
        sender.send_sms("not-a-number", "hello")  # moto rejects a non-E.164 number, as SNS does
    assert outbox.sms() == []


def test_sns_outage_is_a_delivery_failure() -> None:
    client = boto3.client("sns", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_client_error("publish", "Throttled", http_status_code=429)
        with pytest.raises(DeliveryFailed):
            SnsSmsSender(lambda: client, "SANDI").send_sms("+6281234567890", "hello")
