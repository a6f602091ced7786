"""Sending the service's emails without letting a delivery failure change the answer,
and counting every email's outcome where it is sent."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kuploy_access.domain.email_messages import OutgoingEmail
from kuploy_access.services.ports.mail import Mailer
from kuploy_access.services.ports.metrics import EventCounter

logger = logging.getLogger(__name__)

SENT_METRIC = "EmailsSent"
FAILED_METRIC = "EmailsFailed"


@dataclass
class CountedMailer:
    """The mailer every service is given (wiring.mailer): each email counts one
    `EmailsSent`, or one `EmailsFailed` when the transport refuses it. The failure still
    reaches the caller, which decides the answer as before (`send_quietly` hides it,
    InvitationService answers `email_delivery: failed`)."""

    mailer: Mailer
    counter: EventCounter

    def send(self, email: OutgoingEmail) -> None:
        try:
            self.mailer.send(email)
        except Exception:
            self.counter.count(FAILED_METRIC)
            raise
        self.counter.count(SENT_METRIC)


def failure_code(error: BaseException) -> str:
    """What a delivery failure may log: SES's error code (botocore's ClientError carries
    it), else the exception's class. Never its message, which can name the recipient
    (SES's sandbox: "MessageRejected ... identities failed the check: <address>")."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if isinstance(code, str) and code:
            return code
    return type(error).__name__


def send_quietly(mailer: Mailer, email: OutgoingEmail) -> None:
    """Deliver, or log the failure for operators. The routes that send answer the same
    whether or not an address has an account, so a failure must not surface; the
    person can ask for the email again."""
    try:
        mailer.send(email)
    except Exception as error:
        logger.error("email delivery failed", extra={"subject": email.subject, "error_code": failure_code(error)})
