"""Local stand-ins for Google, GitLab and GitHub, for the tests and for `make dev`.

- Google and GitLab: two OpenID Connect providers from oidc-provider-mock (a real
  Authlib authorization server: discovery, JWKS, RS256 ID tokens, the nonce required),
  each behind `PkceEnforcer`, since the mock ignores PKCE and both providers honour it.
- GitHub: `FakeGitHub`, the authorize, token, /user and /user/emails endpoints as
  GitHub answers them (token errors as HTTP 200 with an `error` field).

Each runs on its own free port of 127.0.0.1, in a background thread:
`start_local_providers()` starts the three and answers their URLs, the variables that
turn the providers on (config.read_oauth_settings) and the client secrets to put into
Secrets Manager. The authorize pages are forms a person can use: type a user (or pick
a listed one) and authorize, or deny. Tests drive the same forms with `approve_oidc`,
`approve_github` and `deny`, and set users with `put_oidc_user` and `put_github_user`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import io
import json
import secrets
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import requests
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

HOST = "127.0.0.1"
CLIENT_IDS = {"google": "kuploy-local-google", "gitlab": "kuploy-local-gitlab", "github": "kuploy-local-github"}
SECRET_IDS = {name: f"kuploy-access/local/{name}-client-secret" for name in CLIENT_IDS}
CODE_LIFETIME_SECONDS = 600
HELPER_TIMEOUT_SECONDS = 5


def s256(verifier: str) -> str:
    """RFC 7636 §4.2: the S256 code challenge of a verifier."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _pkce_matches(verifier: str | None, challenge: str) -> bool:
    if not verifier or not verifier.isascii():
        return False
    return hmac.compare_digest(s256(verifier), challenge)


def _json_response(body: object, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _with_query(url: str, params: Mapping[str, str]) -> str:
    return f"{url}{'&' if urlsplit(url).query else '?'}{urlencode(params)}"


def _wsgi_text(value: str) -> str:
    """A PATH_INFO part as text (WSGI carries the raw bytes as latin-1)."""
    return value.encode("latin-1").decode("utf-8", errors="replace")


def new_user_address(login: str) -> str:
    """The verified address a user typed on a local provider's page gets: the login
    itself when it is an address, `<login>@example.com` otherwise."""
    return login if "@" in login else f"{login}@example.com"


def new_user_claims(sub: str) -> dict[str, object]:
    return {"email": new_user_address(sub), "email_verified": True, "name": sub}


def _client_credentials(request: Request) -> tuple[str | None, str | None]:
    """client_secret_basic (RFC 6749 §2.3.1: each part form-urlencoded) or _post."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            decoded = base64.b64decode(header[len("Basic ") :]).decode("utf-8")
        except ValueError:
            return None, None
        client_id, _, secret = decoded.partition(":")
        return unquote(client_id), unquote(secret)
    return request.form.get("client_id"), request.form.get("client_secret")


# --- OpenID Connect (Google, GitLab) ------------------------------------------------------


class PkceEnforcer:
    """WSGI middleware in front of oidc-provider-mock that makes PKCE (S256) required:
    an authorization request without an S256 challenge is refused; the challenge is
    remembered for the code the mock issues (read from the redirect it answers); the
    token request must carry the verifier that hashes to it. Also checks the client's
    credentials at the token endpoint, which the mock, configured to accept any client,
    does not, and puts the `state` back into the redirect that denies access, which the
    mock leaves out. A subject typed on the authorize page that no one created becomes a
    user with a verified address (`new_user_claims`), as on the fake GitHub: the mock
    would make one whose address is unverified, which never signs in."""

    def __init__(
        self, app: WSGIApplication, client_id: str, client_secret: str, known_subjects: Iterable[str] = ()
    ) -> None:
        self._app = app
        self._client_id = client_id
        self._client_secret = client_secret
        self._lock = threading.Lock()
        self._challenges: dict[str, str] = {}
        # Subjects the mock holds: the predefined ones and each PUT /users/<sub> seen here.
        self._known_subjects = set(known_subjects)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/oauth2/authorize":
            if environ.get("REQUEST_METHOD") == "POST":
                self._create_typed_subject(environ)
            return self._authorize(environ, start_response)
        if path.startswith("/users/") and path.count("/") == 2 and environ.get("REQUEST_METHOD") == "PUT":
            with self._lock:
                self._known_subjects.add(_wsgi_text(path[len("/users/") :]))
        if path == "/oauth2/token" and environ.get("REQUEST_METHOD") == "POST":
            return self._token(environ, start_response)
        return self._app(environ, start_response)

    def _create_typed_subject(self, environ: WSGIEnvironment) -> None:
        """Before the mock sees an authorize form naming a new subject, create that user."""
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        form = Request({**environ, "wsgi.input": io.BytesIO(body)}).form
        sub = form.get("sub", "").strip()
        if not sub or form.get("action") == "deny":
            return
        with self._lock:
            if sub in self._known_subjects:
                return
            self._known_subjects.add(sub)
        claims = json.dumps(new_user_claims(sub)).encode()
        put: WSGIEnvironment = {
            **environ,
            "REQUEST_METHOD": "PUT",
            "PATH_INFO": f"/users/{sub}".encode().decode("latin-1"),
            "QUERY_STRING": "",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(claims)),
            "wsgi.input": io.BytesIO(claims),
        }
        answer = self._app(put, lambda status, headers, exc_info=None: lambda data: None)
        try:
            b"".join(answer)
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()

    def _authorize(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        query = Request(environ).args
        challenge = query.get("code_challenge")
        if query.get("code_challenge_method") != "S256" or not challenge:
            response = Response("This provider requires PKCE with S256 (code_challenge_method=S256).", status=400)
            return response(environ, start_response)

        state = query.get("state")

        def remembering(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            location = next((value for name, value in headers if name.lower() == "location"), None)
            answer = parse_qs(urlsplit(location).query) if location else {}
            if "code" in answer:
                with self._lock:
                    self._challenges[answer["code"][0]] = challenge
            if location and "error" in answer and "state" not in answer and state is not None:
                # The mock leaves the state out of its access_denied redirect; providers
                # send it back (RFC 6749 §4.1.2.1), and the callback finds its flow by it.
                fixed = _with_query(location, {"state": state})
                headers = [(name, fixed if name.lower() == "location" else value) for name, value in headers]
            return start_response(status, headers, exc_info)

        return self._app(environ, remembering)

    def _token(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        # Read the body here and hand the mock a fresh copy of it.
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        request = Request({**environ, "wsgi.input": io.BytesIO(body)})
        client_id, secret = _client_credentials(request)
        if client_id != self._client_id or secret is None or not hmac.compare_digest(secret, self._client_secret):
            return _json_response({"error": "invalid_client"}, 401)(environ, start_response)
        if request.form.get("grant_type") == "authorization_code":
            with self._lock:
                # Single use, whatever the outcome: a wrong verifier spends the code.
                challenge = self._challenges.pop(request.form.get("code", ""), None)
            if challenge is None or not _pkce_matches(request.form.get("code_verifier"), challenge):
                refusal = {"error": "invalid_grant", "error_description": "PKCE verification failed"}
                return _json_response(refusal, 400)(environ, start_response)
        return self._app(environ, start_response)


def oidc_provider(client_id: str, client_secret: str, users: Sequence[tuple[str, dict[str, object]]]) -> PkceEnforcer:
    """An OpenID Connect provider; `users` (sub, claims) are listed on its authorize page."""
    with warnings.catch_warnings():
        # The mock imports Authlib's deprecated authlib.jose and httpx integration.
        warnings.simplefilter("ignore", DeprecationWarning)
        import oidc_provider_mock

    predefined = [oidc_provider_mock.User(sub=sub, claims=dict(claims)) for sub, claims in users]
    mock = oidc_provider_mock.app(require_nonce=True, user_claims=predefined)
    return PkceEnforcer(mock, client_id, client_secret, known_subjects=[sub for sub, _ in users])


# --- GitHub -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GitHubEmail:
    email: str
    primary: bool = False
    verified: bool = False


@dataclass(frozen=True)
class GitHubUser:
    id: int
    login: str
    name: str | None = None
    emails: tuple[GitHubEmail, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "emails": [{"email": e.email, "primary": e.primary, "verified": e.verified} for e in self.emails],
        }


def github_user_of(login: str, body: object) -> GitHubUser:
    """The body of `PUT /users/{login}` (GitHubUser.as_json()); ValueError when malformed."""
    if not isinstance(body, dict) or isinstance(body.get("id"), bool) or not isinstance(body.get("id"), int):
        raise ValueError("expected {id: int, name: str|null, emails: [{email, primary, verified}]}")
    name, entries = body.get("name"), body.get("emails", [])
    if name is not None and not isinstance(name, str):
        raise ValueError("name must be a string or null")
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and isinstance(e.get("email"), str) for e in entries
    ):
        raise ValueError("emails must be a list of {email, primary, verified}")
    emails = tuple(GitHubEmail(e["email"], e.get("primary") is True, e.get("verified") is True) for e in entries)
    return GitHubUser(id=body["id"], login=login, name=name, emails=emails)


@dataclass(frozen=True)
class _Grant:
    login: str
    redirect_uri: str
    challenge: str
    expires_at: float


_AUTHORIZE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Fake GitHub: authorize</title></head>
<body style="font-family: sans-serif; max-width: 40rem; margin: 2rem auto">
<h1>Authorize {client_id}</h1>
<p>Local stand-in for GitHub. You will be redirected to <code>{redirect_uri}</code>.</p>
<form method="post">
  <label>GitHub login <input name="login" required autofocus></label>
  <button type="submit">Authorize</button>
</form>
{known}
<form method="post"><button type="submit" name="action" value="deny">Deny</button></form>
</body></html>
"""


class FakeGitHub:
    """GitHub's OAuth app endpoints and the two REST calls the client makes, on one
    server (its API URL is the server's root). Codes are single-use and live 10
    minutes; PKCE (S256) is required. An unknown login typed on the authorize page
    becomes a user with `new_user_address(login)`, primary and verified."""

    def __init__(self, client_id: str, client_secret: str, users: Iterable[GitHubUser] = ()) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._lock = threading.Lock()
        self._users = {user.login: user for user in users}
        self._grants: dict[str, _Grant] = {}
        self._tokens: dict[str, str] = {}
        self._urls = Map(
            [
                Rule("/login/oauth/authorize", endpoint="authorize", methods=["GET", "POST"]),
                Rule("/login/oauth/access_token", endpoint="access_token", methods=["POST"]),
                Rule("/user", endpoint="user", methods=["GET"]),
                Rule("/user/emails", endpoint="user_emails", methods=["GET"]),
                Rule("/users/<login>", endpoint="put_user", methods=["PUT"]),
            ]
        )

    def put_user(self, user: GitHubUser) -> None:
        with self._lock:
            self._users[user.login] = user

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        try:
            endpoint, arguments = self._urls.bind_to_environ(environ).match()
            handler: Callable[..., Response] = getattr(self, f"_{endpoint}")
            response: Any = handler(request, **arguments)
        except HTTPException as error:
            response = error
        return response(environ, start_response)  # type: ignore[no-any-return]

    def _authorize(self, request: Request) -> Response:
        client_id = request.args.get("client_id")
        redirect_uri = request.args.get("redirect_uri", "")
        challenge = request.args.get("code_challenge")
        if client_id != self._client_id:
            return Response("Unknown client_id.", status=400)
        if urlsplit(redirect_uri).scheme not in ("http", "https") or not urlsplit(redirect_uri).netloc:
            return Response("redirect_uri must be an absolute http(s) URL.", status=400)
        if request.args.get("code_challenge_method") != "S256" or not challenge:
            return Response("This fake requires PKCE with S256 (code_challenge_method=S256).", status=400)
        state = {"state": request.args["state"]} if "state" in request.args else {}
        if request.method == "GET":
            return self._authorize_page(client_id, redirect_uri)
        if request.form.get("action") == "deny":
            denial = {"error": "access_denied", "error_description": "The user has denied your application access."}
            return Response(status=302, headers={"Location": _with_query(redirect_uri, {**denial, **state})})
        login = request.form.get("login", "").strip()
        if not login:
            return self._authorize_page(client_id, redirect_uri)
        code = secrets.token_hex(10)
        with self._lock:
            if login not in self._users:
                address = GitHubEmail(new_user_address(login), primary=True, verified=True)
                self._users[login] = GitHubUser(id=1000 + len(self._users), login=login, name=login, emails=(address,))
            self._grants[code] = _Grant(login, redirect_uri, challenge, time.monotonic() + CODE_LIFETIME_SECONDS)
        return Response(status=302, headers={"Location": _with_query(redirect_uri, {"code": code, **state})})

    def _authorize_page(self, client_id: str, redirect_uri: str) -> Response:
        with self._lock:
            logins = sorted(self._users)
        buttons = "".join(
            f'<button type="submit" name="login" value="{html.escape(login)}">{html.escape(login)}</button> '
            for login in logins
        )
        known = f'<h2>Known users</h2><form method="post">{buttons}</form>' if logins else ""
        page = _AUTHORIZE_PAGE.format(
            client_id=html.escape(client_id), redirect_uri=html.escape(redirect_uri), known=known
        )
        return Response(page, mimetype="text/html")

    def _access_token(self, request: Request) -> Response:
        client_id, secret = _client_credentials(request)
        if client_id != self._client_id or secret is None or not hmac.compare_digest(secret, self._client_secret):
            return self._token_answer(request, {"error": "incorrect_client_credentials"})
        with self._lock:
            grant = self._grants.pop(request.form.get("code", ""), None)
        if grant is None or time.monotonic() >= grant.expires_at:
            return self._token_answer(request, {"error": "bad_verification_code"})
        if request.form.get("redirect_uri", grant.redirect_uri) != grant.redirect_uri:
            return self._token_answer(request, {"error": "redirect_uri_mismatch"})
        if not _pkce_matches(request.form.get("code_verifier"), grant.challenge):
            return self._token_answer(
                request, {"error": "bad_verification_code", "error_description": "PKCE verification failed"}
            )
        token = f"gho_{secrets.token_hex(18)}"
        with self._lock:
            self._tokens[token] = grant.login
        return self._token_answer(
            request, {"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"}
        )

    @staticmethod
    def _token_answer(request: Request, body: dict[str, str]) -> Response:
        """Always HTTP 200, as GitHub answers; JSON when asked for, form-encoded otherwise."""
        if "json" in request.headers.get("Accept", ""):
            return _json_response(body)
        return Response(urlencode(body), mimetype="application/x-www-form-urlencoded")

    def _signed_in(self, request: Request) -> GitHubUser | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() not in ("bearer", "token"):
            return None
        with self._lock:
            login = self._tokens.get(token.strip())
            return self._users.get(login) if login else None

    def _user(self, request: Request) -> Response:
        user = self._signed_in(request)
        if user is None:
            return _json_response({"message": "Bad credentials"}, 401)
        return _json_response({"login": user.login, "id": user.id, "name": user.name, "email": None, "type": "User"})

    def _user_emails(self, request: Request) -> Response:
        user = self._signed_in(request)
        if user is None:
            return _json_response({"message": "Bad credentials"}, 401)
        entries = [
            {"email": e.email, "primary": e.primary, "verified": e.verified, "visibility": None} for e in user.emails
        ]
        return _json_response(entries)

    def _put_user(self, request: Request, login: str) -> Response:
        try:
            self.put_user(github_user_of(login, request.get_json(silent=True)))
        except ValueError as error:
            return Response(str(error), status=400)
        return Response(status=204)


# --- servers ------------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    """No line per request: these serve the tests and `make dev`, whose own log is enough."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


class _Server:
    def __init__(self, app: WSGIApplication, name: str) -> None:
        self._server: BaseWSGIServer = make_server(HOST, 0, app, threaded=True, request_handler=_QuietHandler)
        self.url = f"http://{HOST}:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name=name, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


# Listed on the authorize pages of `make dev`: a verified address, and one the provider
# has not verified (the sign-in is refused: email_not_verified).
DEV_OIDC_USERS: tuple[tuple[str, dict[str, object]], ...] = (
    ("ada", {"email": "ada@example.com", "email_verified": True, "name": "Ada Lovelace"}),
    ("grace", {"email": "grace@example.com", "email_verified": False, "name": "Grace Hopper"}),
)
DEV_GITHUB_USERS = (
    GitHubUser(1001, "ada", "Ada Lovelace", (GitHubEmail("ada@example.com", primary=True, verified=True),)),
    GitHubUser(1002, "grace", "Grace Hopper", (GitHubEmail("grace@example.com", primary=True, verified=False),)),
)


@dataclass
class LocalProviders:
    """The three running providers. `environment`: the variables that turn them on;
    `client_secrets`: Secrets Manager id -> client secret, to create before use."""

    google: str
    gitlab: str
    github: str
    environment: dict[str, str]
    client_secrets: dict[str, str]
    _servers: list[_Server] = field(repr=False, default_factory=list)

    def stop(self) -> None:
        for server in self._servers:
            server.stop()
        self._servers.clear()

    def __enter__(self) -> LocalProviders:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def start_local_providers() -> LocalProviders:
    client_secrets = {name: secrets.token_urlsafe(24) for name in CLIENT_IDS}
    servers: list[_Server] = []
    try:
        for name in ("google", "gitlab"):
            provider = oidc_provider(CLIENT_IDS[name], client_secrets[name], DEV_OIDC_USERS)
            servers.append(_Server(provider, f"local-{name}"))
        github = FakeGitHub(CLIENT_IDS["github"], client_secrets["github"], DEV_GITHUB_USERS)
        servers.append(_Server(github, "local-github"))
    except BaseException:
        for server in servers:
            server.stop()
        raise
    google, gitlab, github_url = (server.url for server in servers)
    environment = {f"{name.upper()}_CLIENT_ID": client_id for name, client_id in CLIENT_IDS.items()}
    environment.update({f"{name.upper()}_CLIENT_SECRET_ID": secret_id for name, secret_id in SECRET_IDS.items()})
    # Not the public providers, so their "verified" would count for nothing by default
    # (config.ProviderSettings.trust_email); these stand-ins play the public ones.
    environment.update({f"{name.upper()}_TRUST_EMAIL": "true" for name in CLIENT_IDS})
    environment.update(
        {
            "GOOGLE_ISSUER": google,
            # What an operator sets for a self-managed GitLab; the issuer is its base URL.
            "GITLAB_BASE_URL": gitlab,
            "GITHUB_AUTHORIZE_URL": f"{github_url}/login/oauth/authorize",
            "GITHUB_TOKEN_URL": f"{github_url}/login/oauth/access_token",
            "GITHUB_API_URL": github_url,
        }
    )
    return LocalProviders(
        google=google,
        gitlab=gitlab,
        github=github_url,
        environment=environment,
        client_secrets={SECRET_IDS[name]: secret for name, secret in client_secrets.items()},
        _servers=servers,
    )


# --- what a person does at the provider, for tests ----------------------------------------


def put_oidc_user(
    issuer: str,
    sub: str,
    *,
    email: str | None = None,
    email_verified: bool | None = None,
    name: str | None = None,
) -> None:
    """Create or replace a user of an OpenID Connect provider (claims left None are absent)."""
    claims = {"email": email, "email_verified": email_verified, "name": name}
    body = {key: value for key, value in claims.items() if value is not None}
    response = requests.put(f"{issuer}/users/{sub}", json=body, timeout=HELPER_TIMEOUT_SECONDS)
    response.raise_for_status()


def put_github_user(base_url: str, user: GitHubUser) -> None:
    response = requests.put(f"{base_url}/users/{user.login}", json=user.as_json(), timeout=HELPER_TIMEOUT_SECONDS)
    response.raise_for_status()


def _submit(authorize_url: str, form: dict[str, str]) -> str:
    response = requests.post(authorize_url, data=form, allow_redirects=False, timeout=HELPER_TIMEOUT_SECONDS)
    if response.status_code != 302:
        raise RuntimeError(f"the authorize page answered {response.status_code}: {response.text[:300]}")
    return str(response.headers["Location"])


def approve_oidc(authorize_url: str, sub: str) -> str:
    """Sign in as `sub` on an OpenID Connect provider's authorize page; answers the
    redirect back (the callback URL with `code` and `state`)."""
    return _submit(authorize_url, {"sub": sub})


def approve_github(authorize_url: str, login: str) -> str:
    return _submit(authorize_url, {"login": login})


def deny(authorize_url: str) -> str:
    """Press Deny (either kind of provider): the redirect back, with error=access_denied."""
    return _submit(authorize_url, {"action": "deny"})
