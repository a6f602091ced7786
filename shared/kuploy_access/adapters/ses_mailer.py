"""Email through SES v2, with a text and an HTML part.

botocore rather than boto3: boto3's import chain (s3transfer and more) would add a
third to the sign-up function's cold start for nothing.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from kuploy_access.adapters.retry_policy import SES, botocore_client
from kuploy_access.domain.email_messages import OutgoingEmail


class SesMailer:
    def __init__(self, sender: str, region: str, configuration_set: str = "") -> None:
        self._sender = sender
        self._region = region
        # Where SES counts each email's bounces, complaints and rejects (template.yaml's
        # EmailConfigurationSet); empty sends without one.
        self._configuration_set = configuration_set

    @cached_property
    def _client(self) -> Any:
        return botocore_client("sesv2", self._region, SES)

    def send(self, email: OutgoingEmail) -> None:
        configuration = {"ConfigurationSetName": self._configuration_set} if self._configuration_set else {}
        self._client.send_email(
            **configuration,
            FromEmailAddress=self._sender,
            Destination={"ToAddresses": [email.to]},
            Content={
                "Simple": {
                    "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                    "Body": {
                        "Text": {"Data": email.text, "Charset": "UTF-8"},
                        "Html": {"Data": email.html, "Charset": "UTF-8"},
                    },
                }
            },
        )
