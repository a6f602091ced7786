"""What every provider call shares: one timeout, no redirects, and one way to fail.

Whatever goes wrong between us and a provider (the network, a timeout, an HTTP error,
an OAuth error body, JSON of the wrong shape, a token that does not verify) becomes
ProviderFailed(PROVIDER_ERROR): the callback turns it into a redirect with
`error=provider_error`, never a 5xx.

Details name the step and the kind of failure only, and the original exception is
dropped (`from None`): some messages quote what was sent (requests' InvalidHeader quotes
the header, which holds the access token), and the service logs the detail."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from joserfc.errors import ClaimError, JoseError

from kuploy_access.domain.emails import canonical_email
from kuploy_access.domain.errors import InvalidEmail
from kuploy_access.domain.identities import FlowError
from kuploy_access.services.ports.identities import ProviderFailed

# Seconds for each request (connect, then each read): a provider that hangs costs the
# callback this much, well inside the function's timeout.
TIMEOUT_SECONDS = 5.0
USER_AGENT = "kuploy-access"


def failed(detail: str) -> ProviderFailed:
    return ProviderFailed(FlowError.PROVIDER_ERROR, detail)


@contextmanager
def guarded(step: str) -> Iterator[None]:
    """Turn any failure inside into ProviderFailed naming `step`."""
    try:
        yield
    except ProviderFailed:
        raise
    except requests.Timeout:
        raise failed(f"{step}: timed out") from None
    except requests.HTTPError as error:
        status = error.response.status_code if error.response is not None else "?"
        raise failed(f"{step}: HTTP {status}") from None
    except requests.RequestException as error:
        raise failed(f"{step}: {type(error).__name__}") from None
    except OAuthError as error:
        # The provider's own error code (invalid_grant, bad_verification_code, ...).
        raise failed(f"{step}: {_error_code(error.error)}") from None
    except ClaimError as error:
        # joserfc's codes and descriptions name claims and algorithms, never values.
        raise failed(f"{step}: {error.error} ({error.claim}): {error.description}") from None
    except JoseError as error:
        raise failed(f"{step}: {error.error}" + (f": {error.description}" if error.description else "")) from None
    except Exception as error:
        # A provider's answer of an unexpected shape can fail anywhere in a library.
        raise failed(f"{step}: {type(error).__name__}") from None


def _error_code(value: object) -> str:
    """An OAuth error code as the provider sent it, unless it is not one (RFC 6749 codes
    are short words and underscores)."""
    text = str(value)
    return text if text.replace("_", "").isalnum() and len(text) <= 64 else "unreadable error code"


def json_of(response: requests.Response, step: str) -> Any:
    """The JSON of a 2xx answer."""
    if not 200 <= response.status_code < 300:
        raise failed(f"{step}: HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise failed(f"{step}: the answer is not JSON") from None


def get_json(
    session: requests.Session,
    url: str,
    step: str,
    *,
    timeout: float,
    access_token: str | None = None,
    accept: str = "application/json",
) -> Any:
    """GET a JSON document; with `access_token`, as the signed-in person (Bearer)."""
    headers = {"Accept": accept, "User-Agent": USER_AGENT}
    if access_token is not None:
        headers["Authorization"] = f"Bearer {access_token}"
    with guarded(step):
        response = session.get(url, headers=headers, timeout=timeout, allow_redirects=False)
    return json_of(response, step)


@dataclass(frozen=True)
class TokenRequest:
    """The client's side of a token request: who we are at the provider, and how."""

    client_id: str
    client_secret: Callable[[], str]
    token_endpoint: str
    timeout: float
    # None: Authlib's default (HTTP Basic); GitHub takes the secret in the form.
    auth_method: str | None = None


def redeem_code(request: TokenRequest, code: str, code_verifier: str, redirect_uri: str) -> dict[str, Any]:
    """The token endpoint's answer to the authorization code and its PKCE verifier."""
    with guarded("client secret"):
        secret = request.client_secret()
    options: dict[str, Any] = {} if request.auth_method is None else {"token_endpoint_auth_method": request.auth_method}
    with (
        guarded("token endpoint"),
        OAuth2Session(
            client_id=request.client_id,
            client_secret=secret,
            redirect_uri=redirect_uri,
            default_timeout=request.timeout,
            **options,
        ) as session,
    ):
        token = session.fetch_token(
            request.token_endpoint, code=code, code_verifier=code_verifier, allow_redirects=False
        )
        return dict(token)


def provider_email(raw: object) -> str | None:
    """The canonical form of a provider's address; None when it gave none that parses."""
    if not isinstance(raw, str):
        return None
    try:
        return canonical_email(raw)
    except InvalidEmail:
        return None
