"""Who may call a route, declared in its signature (STYLE.md §1).

    def list_members(org_id: Id, caller: OrgMember, ...) -> MemberList:

The resolver runs these after it has validated the request (so a bad body is still a
422 before any 403), and hands what one raises to the problem-document handler in
`http/api.py`. Dependency parameters stay out of the OpenAPI document; a test swaps one
with `app.dependency_overrides[...]`. The permission an org route needs comes from the
table in `domain/permissions.py`, keyed by the route; no handler names a role.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.request import Request

from kuploy_access.config import settings
from kuploy_access.domain.client_address import client_address
from kuploy_access.domain.errors import Unauthorized
from kuploy_access.domain.permissions import rule_for
from kuploy_access.domain.principal import Principal
from kuploy_access.http.guard import principal_of, require_user
from kuploy_access.services.access import OrgCaller
from kuploy_access.services.sessions import ClientInfo
from kuploy_access.wiring import access_service, session_service, sudo_service


def _client(request: Request) -> ClientInfo:
    """Who is on the other end: API Gateway's source IP, or behind the console's
    CloudFront the viewer's address it vouches for; never a header a client can forge
    (`domain.client_address`)."""
    event: Any = request.resolved_event  # the HTTP API's event (payload 2.0)
    ip = client_address(event.raw_event, settings().edge_origin_secret)
    return ClientInfo(ip=ip, user_agent=event.request_context.http.user_agent or "")


def require_sudo(event: Any) -> Principal:
    """The signed-in user, if their session is live (one read: 401 `invalid_token`
    otherwise) and they proved a factor within the sudo window (403
    `reauthentication_required` otherwise; README, "Sudo mode"). API keys: 403
    `api_key_not_allowed`."""
    caller = require_user(event)
    sudo_service().require(caller)
    return caller


def _signed_in_user(request: Request) -> Principal:
    return require_user(request.resolved_event.raw_event)


def _user_in_sudo_mode(request: Request) -> Principal:
    return require_sudo(request.resolved_event.raw_event)


def _enter_org(request: Request, acting_on_self: bool) -> OrgCaller:
    raw = request.resolved_event.raw_event
    return access_service().enter(
        principal_of(raw),
        str(request.path_parameters.get("org_id", "")),
        rule_for(str(raw.get("routeKey", ""))),
        _client(request),
        acting_on_self,
    )


def _org_member(request: Request) -> OrgCaller:
    return _enter_org(request, acting_on_self=False)


def _org_member_in_sudo_mode(request: Request) -> OrgCaller:
    # The permission first, so a member without it is told `forbidden`, not asked to
    # re-authenticate.
    caller = _enter_org(request, acting_on_self=False)
    require_sudo(request.resolved_event.raw_event)
    return caller


def _org_member_or_self(request: Request) -> OrgCaller:
    """A route on `{user_id}` that a member may also call on themselves (leaving)."""
    me = require_user(request.resolved_event.raw_event)
    return _enter_org(request, acting_on_self=request.path_parameters.get("user_id") == me.id)


Client = Annotated[ClientInfo, Depends(_client)]
SignedInUser = Annotated[Principal, Depends(_signed_in_user)]
SudoUser = Annotated[Principal, Depends(_user_in_sudo_mode)]
OrgMember = Annotated[OrgCaller, Depends(_org_member)]
OrgMemberInSudoMode = Annotated[OrgCaller, Depends(_org_member_in_sudo_mode)]
OrgMemberOrSelf = Annotated[OrgCaller, Depends(_org_member_or_self)]


# --- The account's own routes: a session that is still live, and HTML form posts. ---


def _user_with_live_session(request: Request) -> Principal:
    """The signed-in user, whose session must still be live: routes that manage sessions
    do not wait out the access token's 15 minutes after a sign-out."""
    caller = require_user(request.resolved_event.raw_event)
    if not session_service().is_live(caller.id, caller.session_id):
        raise Unauthorized("invalid_token", "This session was signed out")
    return caller


def _form_fields(request: Request) -> dict[str, str]:
    """An HTML page's form post (application/x-www-form-urlencoded): each field's first
    value; a field sent empty is absent."""
    posted = parse_qs(request.resolved_event.decoded_body or "")
    return {name: values[0] for name, values in posted.items()}


LiveSessionUser = Annotated[Principal, Depends(_user_with_live_session)]
FormFields = Annotated[dict[str, str], Depends(_form_fields)]


def _sudo_proof(request: Request) -> Callable[[], Principal]:
    """For a route that needs sudo mode only for some changes: the service decides, and
    calls this when it does."""
    return lambda: require_sudo(request.resolved_event.raw_event)


def _wants_json(request: Request) -> bool:
    """A page route that also answers JSON: `Accept: application/json` without HTML."""
    accept = str(request.headers.get("accept", "")).lower()
    return "application/json" in accept and "text/html" not in accept


def _cookies(request: Request) -> dict[str, tuple[str, ...]]:
    """The request's cookies by name, every value a repeated name has (payload 2.0
    hands them apart from the headers): a caller that trusts one value must see that
    there is only one."""
    event: Any = request.resolved_event
    found: dict[str, tuple[str, ...]] = {}
    for pair in event.cookies or []:
        name, separator, value = str(pair).partition("=")
        if separator:
            found[name.strip()] = (*found.get(name.strip(), ()), value.strip())
    return found


Cookies = Annotated[dict[str, tuple[str, ...]], Depends(_cookies)]
SudoProof = Annotated[Callable[[], Principal], Depends(_sudo_proof)]
WantsJson = Annotated[bool, Depends(_wants_json)]
