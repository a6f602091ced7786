"""Email through SES v2, with a text and an HTML part."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import boto3

from kuploy_access.domain.email_messages import OutgoingEmail


class SesMailer:
    def __init__(self, sender: str, region: str) -> None:
        self._sender = sender
        self._region = region

    @cached_property
    def _client(self) -> Any:
        return boto3.client("sesv2", region_name=self._region)

    def send(self, email: OutgoingEmail) -> None:
        self._client.send_email(
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
