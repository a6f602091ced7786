"""Invitations: the organization's side (`/orgs/{org_id}/invitations…`), the emailed
link (`/invitations/{token}`: JSON or a page that changes nothing on GET), and the
invitee's answers (`…/accept`, `…/decline`, `/me/invitations…`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from kuploy_access.domain.errors import DomainError
from kuploy_access.http import invitation_html
from kuploy_access.http.api import create_app, lambda_entry
from kuploy_access.http.deps import Client, FormFields, OrgMember, SignedInUser, WantsJson
from kuploy_access.http.idempotency import idempotent, idempotent_problems
from kuploy_access.http.openapi_docs import Problems, form_body, route
from kuploy_access.http.params import Cursor, Id, Limit
from kuploy_access.http.schemas.invitations import (
    InviteRequest,
    Joined,
    MyInvitationList,
    OrgInvitationList,
    PublicInvitation,
    SentInvitationView,
)
from kuploy_access.wiring import invitation_page_service, invitation_service

app = create_app()

Token = Annotated[str, Path(max_length=512)]
ORG_PROBLEMS: Problems = {"s403": ("forbidden", "api_key_not_allowed"), "s404": "not_found"}
INVITE_PROBLEMS = Problems(
    s409=("already_member", "already_invited"), s422=("validation_error", "invalid_email"), s429="rate_limited"
)
ANSWER_PROBLEMS: Problems = {
    "s403": ("invitation_email_mismatch", "api_key_not_allowed", "email_not_verified"),
    "s404": "not_found",
    "s409": "already_member",
    "s410": ("invitation_expired", "invitation_used"),
}


# --- the organization's side -------------------------------------------------------------


@app.post(
    "/orgs/<org_id>/invitations",
    status_code=201,
    operation_id="createInvitation",
    **route(
        "invitations",
        "Invite someone by email as admin or member",
        (201, "Invited"),
        description="The invitation exists even when the email could not be sent (`email_delivery: failed`); "
        "resend it.",
        **idempotent_problems(ORG_PROBLEMS | INVITE_PROBLEMS),
    ),
)
@idempotent
def invite(org_id: Id, body: InviteRequest, caller: OrgMember) -> SentInvitationView:
    return SentInvitationView.model_validate(invitation_service().invite(caller, body.email, body.role))


@app.get(
    "/orgs/<org_id>/invitations",
    operation_id="listInvitations",
    **route(
        "invitations",
        "Pending invitations of the organization",
        (200, "Pending invitations (status `expired` once past their expiry)"),
        **ORG_PROBLEMS,
    ),
)
def list_org_invitations(org_id: Id, caller: OrgMember, limit: Limit = 50, cursor: Cursor = None) -> OrgInvitationList:
    return OrgInvitationList.of(invitation_service().pending(caller, limit, cursor), datetime.now(UTC))


@app.delete(
    "/orgs/<org_id>/invitations/<invitation_id>",
    operation_id="revokeInvitation",
    **route(
        "invitations",
        "Revoke a pending invitation; its link stops working",
        (204, "Revoked"),
        **(ORG_PROBLEMS | Problems(s409="conflict")),
    ),
)
def revoke(org_id: Id, invitation_id: Id, caller: OrgMember) -> Response[None]:
    invitation_service().revoke(caller, invitation_id)
    return Response(status_code=204)


@app.post(
    "/orgs/<org_id>/invitations/<invitation_id>/resend",
    status_code=202,
    operation_id="resendInvitation",
    **route(
        "invitations",
        "Send a new link; the old one stops working and the expiry starts again",
        (202, "Sent again"),
        description="409 `already_invited` when a newer invitation to the address is pending.",
        **(ORG_PROBLEMS | Problems(s409="already_invited")),
    ),
)
def resend(org_id: Id, invitation_id: Id, caller: OrgMember) -> SentInvitationView:
    return SentInvitationView.model_validate(invitation_service().resend(caller, invitation_id))


# --- the emailed link ------------------------------------------------------------------------


@app.get(
    "/invitations/<token>",
    operation_id="getInvitation",
    **route(
        "invitations",
        "What an invitation link shows (changes nothing)",
        (200, "The invitation"),
        description="JSON with `Accept: application/json` (and not `text/html`), otherwise an HTML page with the "
        "forms of `POST /invitations/{token}`; a link that is no good answers a problem document or a page.",
        signed_in=False,
        html=True,
        json_model=PublicInvitation,
        html_errors={404: "the link is unknown or revoked", 410: "the invitation expired or was used"},
        s404="not_found",
        s410=("invitation_expired", "invitation_used"),
    ),
)
def view_invitation(token: Token, wants_json: WantsJson) -> Any:
    try:
        invitation = invitation_service().view(token)
    except DomainError as error:
        if wants_json:
            raise
        return invitation_html.unusable(error)
    if wants_json:
        return PublicInvitation.model_validate(invitation)
    return invitation_html.invitation_page(token, invitation)


@app.post(
    "/invitations/<token>",
    operation_id="answerInvitationPage",
    **route(
        "invitations",
        "The invitation page's forms: sign in and accept or decline, or create an account",
        (200, "Accepted, declined, or signed up (the confirmation email leads back to the page)"),
        description="`action`: `accept` or `decline` (with the account's `password`, and `code` when it has 2FA), "
        "or `signup` (with a `password` and an optional `name`). The invited address is used whatever `email` says "
        "(the page shows it read-only).",
        signed_in=False,
        html=True,
        html_errors={
            400: "nothing changed (a wrong password or code, a refused sign-up; the page is shown again)",
            404: "the link is unknown or revoked",
            410: "the invitation expired or was used",
        },
        form=form_body("action", "email", "password", "code", "name", required=("action",)),
    ),
)
def invitation_form(token: Token, fields: FormFields, client: Client) -> Response[Any]:
    try:
        answer = invitation_page_service().answer(token, invitation_html.form_of(fields), client)
    except DomainError as error:
        return invitation_html.unusable(error)
    return invitation_html.answered(token, answer)


# --- the invitee's answers, signed in ------------------------------------------------------------


@app.post(
    "/invitations/<token>/accept",
    operation_id="acceptInvitation",
    **route("invitations", "Accept an invitation by its link's token", (200, "Joined"), **ANSWER_PROBLEMS),
)
def accept(token: Token, user: SignedInUser, client: Client) -> Joined:
    return Joined.model_validate(invitation_service().accept(user.id, token, client))


@app.post(
    "/invitations/<token>/decline",
    operation_id="declineInvitation",
    **route("invitations", "Decline an invitation by its link's token", (204, "Declined"), **ANSWER_PROBLEMS),
)
def decline(token: Token, user: SignedInUser, client: Client) -> Response[None]:
    invitation_service().decline(user.id, token, client)
    return Response(status_code=204)


@app.get(
    "/me/invitations",
    operation_id="listMyInvitations",
    **route(
        "invitations",
        "Pending invitations for my verified email",
        (200, "My pending invitations"),
        s403="api_key_not_allowed",
    ),
)
def my_invitations(user: SignedInUser, limit: Limit = 50, cursor: Cursor = None) -> MyInvitationList:
    return MyInvitationList.model_validate(invitation_service().mine(user.id, limit, cursor))


@app.post(
    "/me/invitations/<invitation_id>/accept",
    operation_id="acceptMyInvitation",
    **route("invitations", "Accept one of my invitations", (200, "Joined"), **ANSWER_PROBLEMS),
)
def accept_mine(invitation_id: Id, user: SignedInUser, client: Client) -> Joined:
    return Joined.model_validate(invitation_service().accept_by_id(user.id, invitation_id, client))


@app.post(
    "/me/invitations/<invitation_id>/decline",
    operation_id="declineMyInvitation",
    **route("invitations", "Decline one of my invitations", (204, "Declined"), **ANSWER_PROBLEMS),
)
def decline_mine(invitation_id: Id, user: SignedInUser, client: Client) -> Response[None]:
    invitation_service().decline_by_id(user.id, invitation_id, client)
    return Response(status_code=204)


lambda_handler = lambda_entry(app)
