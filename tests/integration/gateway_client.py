"""Drive the handlers in-process through the local gateway (no sockets, same events)."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any

from devserver.embedded_aws import Outbox
from devserver.gateway import LocalGateway
from devserver.template import api_spec
from tests.integration.declared_answers import DeclaredAnswers, declared_answers

SOURCE_IP = "203.0.113.7"  # requestContext.http.sourceIp: the address API Gateway saw


# API Gateway's id of each request (the logs' correlation_id), kept apart from the
# headers: tests compare answers header for header, and this one always differs.
REQUEST_ID_HEADER = "apigw-requestid"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    request_id: str = ""

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


class GatewayClient:
    # Set to check every answer against the OpenAPI document (tests/integration/declared_answers.py);
    # CHECK_DECLARED_ANSWERS=1 sets it for every client of the run.
    contract: DeclaredAnswers | None = declared_answers() if os.environ.get("CHECK_DECLARED_ANSWERS") == "1" else None

    def __init__(self, outbox: Outbox) -> None:
        self.gateway = LocalGateway(api_spec())
        self.outbox = outbox

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        source_ip: str = SOURCE_IP,
    ) -> Answer:
        raw_path, _, query = path.partition("?")
        sent = {"Content-Type": "application/json", "User-Agent": "pytest"} | (headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        answer = self.gateway.handle(method, raw_path, query, list(sent.items()), payload, source_ip)
        headers = {k.lower(): v for k, v in answer.headers}
        received = Answer(answer.status, headers, answer.body, headers.pop(REQUEST_ID_HEADER, ""))
        if self.contract is not None:
            self.contract.check(method, raw_path, received.status, received.headers, received.body)
        return received

    def last_link(self, to: str, path: str) -> str:
        """The token of the newest emailed link to `path` for `to`."""
        for email in reversed(self.outbox.all()):
            if email["to"] == to:
                found = re.search(re.escape(path) + r"\?token=([A-Za-z0-9_\-]+)", email["text"])
                if found:
                    return found.group(1)
        raise AssertionError(f"no email with {path} to {to}")

    def sign_up_and_verify(self, email: str, password: str = "a sturdy passphrase", name: str = "Ada") -> None:
        assert self.request("POST", "/auth/signup", {"email": email, "password": password, "name": name}).status == 202
        token = self.last_link(email.lower(), "/verify-email")
        assert self.request("POST", "/auth/verify-email", {"token": token}).status == 200

    def log_in(self, email: str, password: str = "a sturdy passphrase") -> dict[str, Any]:
        answer = self.request("POST", "/auth/login", {"email": email, "password": password})
        assert answer.status == 200, answer.text
        tokens: dict[str, Any] = answer.json()
        return tokens
