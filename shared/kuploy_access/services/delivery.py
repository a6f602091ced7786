"""Sending the service's emails without letting a delivery failure change the answer."""

from __future__ import annotations

import logging

from kuploy_access.domain.email_messages import OutgoingEmail
from kuploy_access.services.ports.mail import Mailer

logger = logging.getLogger(__name__)


def send_quietly(mailer: Mailer, email: OutgoingEmail) -> None:
    """Deliver, or log the failure for operators. The routes that send answer the same
    whether or not an address has an account, so a failure must not surface; the
    person can ask for the email again."""
    try:
        mailer.send(email)
    except Exception:
        logger.exception("email delivery failed", extra={"subject": email.subject})
