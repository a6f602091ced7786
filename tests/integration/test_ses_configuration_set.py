"""Every email goes out with the stack's SES configuration set (SES_CONFIGURATION_SET,
template.yaml's EmailConfigurationSet), where SES counts its bounces, complaints and
rejects: through the real handlers, wiring and mailer, on moto."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from devserver.embedded_aws import LOCAL_ENVIRONMENT, REGION
from kuploy_access.adapters.ses_mailer import SesMailer
from kuploy_access.domain.email_messages import OutgoingEmail
from tests.integration.gateway_client import GatewayClient
from tests.integration.support import PASSWORD

CONFIGURATION_SET = LOCAL_ENVIRONMENT["SES_CONFIGURATION_SET"]


class SentRequests:
    """The SendEmail requests one botocore client makes, as they go out."""

    def __init__(self, client: Any) -> None:
        self.requests: list[dict[str, Any]] = []
        client.meta.events.register("provide-client-params.sesv2.SendEmail", self.record)

    def record(self, params: dict[str, Any], **_: Any) -> None:
        self.requests.append(dict(params))


@pytest.fixture
def sent(aws) -> Iterator[SentRequests]:
    """What the mailer of the wiring (the one every handler uses, around SesMailer) asks SES."""
    from kuploy_access import wiring

    yield SentRequests(wiring.mailer().mailer._client)


def test_the_local_ses_holds_the_configuration_set(aws):
    answer = boto3.client("sesv2", region_name=REGION).get_configuration_set(ConfigurationSetName=CONFIGURATION_SET)
    assert answer["ConfigurationSetName"] == CONFIGURATION_SET


def test_a_sign_up_s_verification_email_names_the_configuration_set(aws, sent, cheap_password_hashing):
    client = GatewayClient(aws)
    answer = client.request("POST", "/auth/signup", {"email": "ada@example.com", "password": PASSWORD})
    assert answer.status == 202, answer.text
    assert [request["Destination"]["ToAddresses"] for request in sent.requests] == [["ada@example.com"]]
    assert [request.get("ConfigurationSetName") for request in sent.requests] == [CONFIGURATION_SET]
    # SES accepted it, so the outbox holds it.
    assert [email["to"] for email in aws.all()] == ["ada@example.com"]


def test_without_a_configuration_set_the_mailer_names_none(aws):
    """The operator's command line runs without SES_CONFIGURATION_SET: SES must not be
    asked for a set named ""."""
    mailer = SesMailer(LOCAL_ENVIRONMENT["SENDER_EMAIL"], REGION)
    sent = SentRequests(mailer._client)
    mailer.send(OutgoingEmail(to="grace@example.com", subject="Hello", text="Hello", html="<p>Hello</p>"))
    assert len(sent.requests) == 1
    assert "ConfigurationSetName" not in sent.requests[0]
