"""Email through SES v2, with a text and an HTML part.

botocore rather than boto3: boto3's import chain (s3transfer and more) would add a
third to the sign-up function's cold start for nothing.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from kuploy_access.domain.email_messages import OutgoingEmail


class SesMailer:
    def __init__(self, sender: str, region: str) -> None:
        self._sender = sender
        self._region = region

    @cached_property
    def _client(self) -> Any:
        from botocore.session import get_session

        return get_session().create_client("sesv2", region_name=self._region)

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
