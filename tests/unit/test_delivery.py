"""Every email's outcome is counted where it is sent; a failure changes no answer."""

from __future__ import annotations

import io
import logging

import pytest
from botocore.exceptions import ClientError

from kuploy_access.domain.email_messages import OutgoingEmail
from kuploy_access.services.delivery import CountedMailer, failure_code, send_quietly
from tests.unit.fakes import FakeMailer
from tests.unit.metric_fakes import CountedEvents

EMAIL = OutgoingEmail(to="ada@example.com", subject="Hello", text="Hello", html="<p>Hello</p>")


def test_a_sent_email_counts_once():
    counted, inner = CountedEvents(), FakeMailer()
    CountedMailer(inner, counted).send(EMAIL)
    assert inner.sent == [EMAIL]
    assert counted.events == [("EmailsSent", {})]


def test_a_refused_email_counts_once_and_its_error_goes_on_to_the_caller():
    counted = CountedEvents()
    with pytest.raises(RuntimeError, match="SES is down"):
        CountedMailer(FakeMailer(fail=True), counted).send(EMAIL)
    assert counted.events == [("EmailsFailed", {})]


def test_sending_quietly_still_hides_the_failure_and_it_is_counted_once():
    counted = CountedEvents()
    send_quietly(CountedMailer(FakeMailer(fail=True), counted), EMAIL)
    assert counted.events == [("EmailsFailed", {})]


def ses_rejection(address: str) -> ClientError:
    # What SES's sandbox answers for an unverified recipient: the address in the message.
    message = f"Email address is not verified. The following identities failed the check: {address}"
    return ClientError({"Error": {"Code": "MessageRejected", "Message": message}}, "SendEmail")


class RefusingMailer:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def send(self, email: OutgoingEmail) -> None:
        raise self.error


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """Everything the records would print: messages, tracebacks and extra keys."""
    handler = logging.StreamHandler(io.StringIO())
    return "\n".join(f"{handler.format(record)} {vars(record)}" for record in caplog.records)


def test_a_failed_delivery_logs_the_error_code_never_the_address(caplog):
    with caplog.at_level(logging.INFO):
        send_quietly(RefusingMailer(ses_rejection(EMAIL.to)), EMAIL)
    text = logged(caplog)
    assert [r.error_code for r in caplog.records] == ["MessageRejected"]
    assert EMAIL.to not in text and "ada@" not in text, text


def test_a_failure_without_a_code_logs_its_class_name():
    assert failure_code(RuntimeError("to ada@example.com")) == "RuntimeError"
    assert failure_code(ses_rejection("ada@example.com")) == "MessageRejected"
