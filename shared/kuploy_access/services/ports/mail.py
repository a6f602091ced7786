"""Sending email."""

from __future__ import annotations

from typing import Protocol

from kuploy_access.domain.email_messages import OutgoingEmail


class Mailer(Protocol):
    """For every service that emails: sign-up, login, passwords, 2FA, admin, invitations.

    `send` raises whatever the transport raises (SES refused or unreachable). Every
    caller catches it: services/delivery.py `send_quietly`, and InvitationService, which
    answers `email_delivery: failed`."""

    def send(self, email: OutgoingEmail) -> None: ...
