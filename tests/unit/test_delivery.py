"""Every email's outcome is counted where it is sent; a failure changes no answer."""

from __future__ import annotations

import pytest

from kuploy_access.domain.email_messages import OutgoingEmail
from kuploy_access.services.delivery import CountedMailer, send_quietly
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
