"""Invitations: the organization's side (`/orgs/{org_id}/invitations…`), the emailed
link (`/invitations/{token}`: JSON or a page that changes nothing on GET), and the
invitee's answers (`…/accept`, `…/decline`, `/me/invitations…`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel, ConfigDict, Field

from kuploy_access.domain.errors import DomainError
from kuploy_access.domain.invitations import Invitation, invitation_path
from kuploy_access.http import pages
from kuploy_access.http.api import create_app, lambda_entry
from kuploy_access.http.deps import client_of
from kuploy_access.http.guard import require_user
from kuploy_access.http.openapi_docs import responses
from kuploy_access.http.org_guard import enter_org
from kuploy_access.http.pagination import paginate
from kuploy_access.http.params import BEARER, Cursor, Id, Limit
from kuploy_access.services.invitations import SentInvitation
from kuploy_access.wiring import invitation_service, login_service, signup_service, two_factor_service

app = create_app()

Token = Annotated[str, Path(max_length=512)]
ORG_PROBLEMS: dict[str, tuple[str, ...] | str] = {"s403": ("forbidden", "api_key_not_allowed"), "s404": "not_found"}
ANSWER_PROBLEMS: dict[str, tuple[str, ...] | str] = {
    "s403": ("invitation_email_mismatch", "api_key_not_allowed", "email_not_verified"),
    "s404": "not_found",
    "s409": "already_member",
    "s410": ("invitation_expired", "invitation_used"),
}


class InviteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=320, examples=["grace@example.com"])
    role: Literal["admin", "member"]


class SentInvitationView(BaseModel):
    id: str
    email: str
    role: str
    status: Literal["pending"] = "pending"
    expires_at: datetime
    email_delivery: Literal["sent", "failed"]

    @classmethod
    def of(cls, sent: SentInvitation) -> SentInvitationView:
        i = sent.invitation
        return cls(id=i.id, email=i.email, role=i.role, expires_at=i.expires_at, email_delivery=sent.email_delivery)  # type: ignore[arg-type]


class OrgInvitationView(BaseModel):
    id: str
    email: str
    role: str
    status: Literal["pending", "expired"]
    invited_by: str
    created_at: datetime
    expires_at: datetime


class OrgInvitationList(BaseModel):
    items: list[OrgInvitationView]
    next_cursor: str | None


class PublicInvitation(BaseModel):
    org_name: str
    inviter_name: str
    email: str
    role: str
    expires_at: datetime


class MyInvitation(BaseModel):
    id: str
    org_id: str
    org_name: str
    role: str
    invited_by: str
    expires_at: datetime


class MyInvitationList(BaseModel):
    items: list[MyInvitation]
    next_cursor: str | None


class Joined(BaseModel):
    org_id: str
    role: str


def _joined(invitation: Invitation) -> Joined:
    return Joined(org_id=invitation.org_id, role=invitation.role)


# --- the organization's side -------------------------------------------------------------


@app.post(
    "/orgs/<org_id>/invitations",
    status_code=201,
    tags=["invitations"],
    summary="Invite someone by email as admin or member",
    description="The invitation exists even when the email could not be sent (`email_delivery: failed`); resend it.",
    security=BEARER,
    responses=responses(
        201,
        "Invited",
        **ORG_PROBLEMS,
        s409=("already_member", "already_invited"),
        s422=("validation_error", "invalid_email"),
    ),
)
def invite(org_id: Id, body: InviteRequest) -> SentInvitationView:
    return SentInvitationView.of(invitation_service().invite(enter_org(app), body.email, body.role))


@app.get(
    "/orgs/<org_id>/invitations",
    tags=["invitations"],
    summary="Pending invitations of the organization",
    security=BEARER,
    responses=responses(200, "Pending invitations (status `expired` once past their expiry)", **ORG_PROBLEMS),
)
def list_org_invitations(org_id: Id, limit: Limit = 50, cursor: Cursor = None) -> OrgInvitationList:
    caller = enter_org(app)
    now = datetime.now(UTC)
    page = paginate(invitation_service().pending(caller), limit, cursor)
    return OrgInvitationList(
        items=[
            OrgInvitationView(
                id=i.id,
                email=i.email,
                role=i.role,
                status="expired" if i.is_expired(now) else "pending",
                invited_by=i.invited_by,
                created_at=i.created_at,
                expires_at=i.expires_at,
            )
            for i in page.items
        ],
        next_cursor=page.next_cursor,
    )


@app.delete(
    "/orgs/<org_id>/invitations/<invitation_id>",
    tags=["invitations"],
    summary="Revoke a pending invitation; its link stops working",
    security=BEARER,
    responses=responses(204, "Revoked", **ORG_PROBLEMS),
)
def revoke(org_id: Id, invitation_id: Id) -> Response[None]:
    invitation_service().revoke(enter_org(app), invitation_id)
    return Response(status_code=204)


@app.post(
    "/orgs/<org_id>/invitations/<invitation_id>/resend",
    status_code=202,
    tags=["invitations"],
    summary="Send a new link; the old one stops working and the expiry starts again",
    security=BEARER,
    responses=responses(202, "Sent again", **ORG_PROBLEMS),
)
def resend(org_id: Id, invitation_id: Id) -> SentInvitationView:
    return SentInvitationView.of(invitation_service().resend(enter_org(app), invitation_id))


# --- the emailed link ------------------------------------------------------------------------


def _wants_json() -> bool:
    accept = str((app.current_event.headers or {}).get("accept", "")).lower()
    return "application/json" in accept and "text/html" not in accept


def _invitation_page(token: str, invitation: Invitation, notice: str = "", error: bool = False) -> Response[Any]:
    action = invitation_path(token)
    body = (
        (pages.message(notice, error=error) if notice else "")
        + pages.message(
            f"{invitation.inviter_name} invited {invitation.email} to join {invitation.org_name} on Kuploy."
        )
        + pages.details(
            [
                ("Organization", invitation.org_name),
                ("Invited by", invitation.inviter_name),
                ("Role", invitation.role),
                ("Expires", invitation.expires_at.strftime("%Y-%m-%d %H:%M UTC")),
            ]
        )
        + pages.sign_in_form(
            action,
            invitation.email,
            "Have a Kuploy account with this address? Sign in to answer.",
            [("accept", "Sign in and accept"), ("decline", "Sign in and decline")],
        )
        + "<hr>"
        + pages.sign_up_form(
            action,
            invitation.email,
            "New to Kuploy? Create an account with this address; the confirmation email brings you back here.",
        )
    )
    return pages.page(f"Join {invitation.org_name}", body, 400 if error else 200)


@app.get(
    "/invitations/<token>",
    tags=["invitations"],
    summary="What an invitation link shows (changes nothing)",
    description="JSON with `Accept: application/json`, otherwise an HTML page.",
    responses=responses(200, "The invitation", s404="not_found", s410=("invitation_expired", "invitation_used")),
)
def view_invitation(token: Token) -> Any:
    try:
        invitation = invitation_service().view(token)
    except DomainError as error:
        if _wants_json():
            raise
        return pages.page("Invitation", pages.message(error.detail, error=True), error.status)
    if _wants_json():
        return PublicInvitation(
            org_name=invitation.org_name,
            inviter_name=invitation.inviter_name,
            email=invitation.email,
            role=invitation.role,
            expires_at=invitation.expires_at,
        )
    return _invitation_page(token, invitation)


@app.post("/invitations/<token>", tags=["pages"], summary="The invitation page's forms (sign in or sign up)")
def invitation_form(token: Token) -> Response[Any]:
    form = {k: v[0] for k, v in parse_qs(app.current_event.decoded_body or "").items() if v}
    try:
        invitation = invitation_service().view(token)
    except DomainError as error:
        return pages.page("Invitation", pages.message(error.detail, error=True), error.status)
    action = form.get("action", "")
    client = client_of(app.current_event)
    try:
        if action == "signup":
            signup_service().sign_up(
                invitation.email, form.get("password", ""), client, form.get("name"), invitation_path(token)
            )
            return pages.page(
                "Check your inbox",
                pages.message(
                    f"We sent an email to {invitation.email}. Confirm your address with it; "
                    "it brings you back to this invitation."
                ),
            )
        if action not in ("accept", "decline"):
            return _invitation_page(token, invitation, "Choose accept or decline.", error=True)
        user = login_service().authenticate(invitation.email, form.get("password", ""), client)
        if user.two_factor_enabled:
            # The page signs in and acts in one step: the second factor is part of it.
            two_factor_service().verify_code(user, form.get("code", ""), client)
        if action == "decline":
            invitation_service().decline(user.id, token, client)
            return pages.page("Invitation declined", pages.message(f"You declined to join {invitation.org_name}."))
        invitation_service().accept(user.id, token, client)
    except DomainError as error:
        return _invitation_page(token, invitation, error.detail, error=True)
    return pages.page(
        f"Welcome to {invitation.org_name}",
        pages.message(f"You joined {invitation.org_name} as {invitation.role}. You can close this page."),
    )


# --- the invitee's answers, signed in ------------------------------------------------------------


@app.post(
    "/invitations/<token>/accept",
    tags=["invitations"],
    summary="Accept an invitation by its link's token",
    security=BEARER,
    responses=responses(200, "Joined", **ANSWER_PROBLEMS),
)
def accept(token: Token) -> Joined:
    user = require_user(app.current_event.raw_event)
    return _joined(invitation_service().accept(user.id, token, client_of(app.current_event)))


@app.post(
    "/invitations/<token>/decline",
    tags=["invitations"],
    summary="Decline an invitation by its link's token",
    security=BEARER,
    responses=responses(204, "Declined", **ANSWER_PROBLEMS),
)
def decline(token: Token) -> Response[None]:
    user = require_user(app.current_event.raw_event)
    invitation_service().decline(user.id, token, client_of(app.current_event))
    return Response(status_code=204)


@app.get(
    "/me/invitations",
    tags=["invitations"],
    summary="Pending invitations for my verified email",
    security=BEARER,
    responses=responses(200, "My pending invitations", s403="api_key_not_allowed"),
)
def my_invitations(limit: Limit = 50, cursor: Cursor = None) -> MyInvitationList:
    user = require_user(app.current_event.raw_event)
    page = paginate(invitation_service().mine(user.id), limit, cursor)
    return MyInvitationList(
        items=[
            MyInvitation(
                id=i.id,
                org_id=i.org_id,
                org_name=i.org_name,
                role=i.role,
                invited_by=i.inviter_name,
                expires_at=i.expires_at,
            )
            for i in page.items
        ],
        next_cursor=page.next_cursor,
    )


@app.post(
    "/me/invitations/<invitation_id>/accept",
    tags=["invitations"],
    summary="Accept one of my invitations",
    security=BEARER,
    responses=responses(200, "Joined", **ANSWER_PROBLEMS),
)
def accept_mine(invitation_id: Id) -> Joined:
    user = require_user(app.current_event.raw_event)
    return _joined(invitation_service().accept_by_id(user.id, invitation_id, client_of(app.current_event)))


@app.post(
    "/me/invitations/<invitation_id>/decline",
    tags=["invitations"],
    summary="Decline one of my invitations",
    security=BEARER,
    responses=responses(204, "Declined", **ANSWER_PROBLEMS),
)
def decline_mine(invitation_id: Id) -> Response[None]:
    user = require_user(app.current_event.raw_event)
    invitation_service().decline_by_id(user.id, invitation_id, client_of(app.current_event))
    return Response(status_code=204)


lambda_handler = lambda_entry(app)
