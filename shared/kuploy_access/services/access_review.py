"""The access review: who and what can act in an organization, and what to fix.

It turns the usual advice (least privilege, 2FA for those who hold power, rotate
keys, remove what is unused, separate keys per service) into findings a team admin
can act on, each with a severity and a stable code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from kuploy_access.domain.api_keys import ApiKey
from kuploy_access.domain.invitations import Invitation, InvitationStatus
from kuploy_access.domain.organizations import Member
from kuploy_access.domain.permissions import API_KEYS_MANAGE, KEY_SCOPES, ROLE_PERMISSIONS, Role, may_grant_scopes
from kuploy_access.services.access import OrgCaller
from kuploy_access.services.ports.api_keys import ApiKeyRoster
from kuploy_access.services.ports.clock import Clock
from kuploy_access.services.ports.invitations import InvitationRoster
from kuploy_access.services.ports.organizations import MemberRoster

STALE_AFTER = timedelta(days=90)


@dataclass(frozen=True)
class Finding:
    severity: str  # "high" | "medium" | "low"
    code: str
    message: str
    subject: str


@dataclass(frozen=True)
class KeyReview:
    key: ApiKey
    creator_is_member: bool


@dataclass(frozen=True)
class AccessReview:
    members: list[Member]
    api_keys: list[KeyReview]
    findings: list[Finding]


@dataclass
class AccessReviewService:
    orgs: MemberRoster
    keys: ApiKeyRoster
    invitations: InvitationRoster
    clock: Clock

    def review(self, caller: OrgCaller) -> AccessReview:
        now = self.clock.now()
        members = self.orgs.all_members(caller.org.id)
        member_ids = {m.user_id for m in members}
        live_keys = [k for k in self.keys.of_org(caller.org.id) if k.is_usable(now)]
        keys = [KeyReview(k, k.created_by in member_ids) for k in live_keys]
        pending = [i for i in self.invitations.of_org(caller.org.id) if i.status == InvitationStatus.PENDING]
        findings = [
            *self._member_findings(members, now),
            *self._policy_findings(members, caller.org.require_2fa),
            *self._key_findings(keys, now),
            *self._creator_role_findings(keys, members),
            *self._invitation_findings(pending, now),
        ]
        order = {"high": 0, "medium": 1, "low": 2}
        findings.sort(key=lambda f: (order[f.severity], f.code, f.subject))
        return AccessReview(members, keys, findings)

    @staticmethod
    def _member_findings(members: list[Member], now: datetime) -> list[Finding]:
        found = []
        for m in members:
            if m.role in (Role.OWNER, Role.ADMIN) and not m.two_factor_enabled:
                found.append(
                    Finding(
                        "high",
                        "admin_without_2fa",
                        f"{m.email} is {m.role} without two-factor authentication",
                        m.user_id,
                    )
                )
            last_seen = m.last_active_at or m.joined_at
            if now - last_seen > STALE_AFTER:
                found.append(
                    Finding(
                        "low", "member_inactive", f"{m.email} has not used the organization for over 90 days", m.user_id
                    )
                )
        return found

    @staticmethod
    def _policy_findings(members: list[Member], policy_on: bool) -> list[Finding]:
        """Members (not owners or admins: those have their own finding) without 2FA: whom
        the organization's 2FA policy locks out, or would once switched on."""
        found = []
        for m in members:
            if m.role == Role.MEMBER and not m.two_factor_enabled:
                if policy_on:
                    found.append(
                        Finding(
                            "medium",
                            "locked_out_by_2fa_policy",
                            f"{m.email} cannot use the organization until they turn on 2FA",
                            m.user_id,
                        )
                    )
                else:
                    found.append(
                        Finding(
                            "low",
                            "member_without_2fa",
                            f"{m.email} has no 2FA: requiring 2FA would lock them out",
                            m.user_id,
                        )
                    )
        return found

    @staticmethod
    def _key_findings(keys: list[KeyReview], now: datetime) -> list[Finding]:
        found = []
        for review in keys:
            key = review.key
            name = f"Key {key.prefix}… ({key.description})"
            if not review.creator_is_member:
                found.append(Finding("high", "key_creator_left", f"{name} was made by someone who left", key.id))
            if key.scopes >= KEY_SCOPES:
                found.append(
                    Finding("medium", "key_full_scope", f"{name} holds every scope; give it only what it needs", key.id)
                )
            if now - key.created_at > STALE_AFTER:
                found.append(
                    Finding("medium", "key_needs_rotation", f"{name} is older than 90 days; rotate it", key.id)
                )
            if now - (key.last_used_at or key.created_at) > STALE_AFTER:
                found.append(Finding("medium", "key_unused", f"{name} has not been used for over 90 days", key.id))
        return found

    @staticmethod
    def _creator_role_findings(keys: list[KeyReview], members: list[Member]) -> list[Finding]:
        """Keys holding more than their creator's role could grant now: a demotion does
        not shrink the keys the person made while they held more. (A creator who left
        has a finding of their own.)"""
        roles = {m.user_id: m.role for m in members}
        found = []
        for review in keys:
            key, role = review.key, roles.get(review.key.created_by)
            if role is None or may_grant_scopes(role, key.scopes):
                continue
            held = ROLE_PERMISSIONS[Role(role)]
            why = (
                f"its creator is now {role} and may not create keys"
                if API_KEYS_MANAGE not in held
                else f"its creator is now {role}, without {', '.join(sorted(key.scopes - held))}"
            )
            found.append(
                Finding(
                    "high",
                    "key_exceeds_creator_role",
                    f"Key {key.prefix}… ({key.description}) holds more than its creator may grant: {why}; "
                    "revoke it or have an admin rotate it",
                    key.id,
                )
            )
        return found

    @staticmethod
    def _invitation_findings(pending: list[Invitation], now: datetime) -> list[Finding]:
        return [
            Finding(
                "low",
                "invitation_expired",
                f"The invitation to {i.email} expired unanswered; resend or revoke it",
                i.id,
            )
            for i in pending
            if i.is_expired(now)
        ]
