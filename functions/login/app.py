"""Password login: `POST /auth/login`."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field

from kuploy_access.domain.errors import DomainError
from kuploy_access.http.api import create_app, lambda_entry, metrics
from kuploy_access.http.openapi_docs import responses
from kuploy_access.services.login import ClientInfo
from kuploy_access.wiring import login_service

app = create_app()


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024, repr=False)


class Tokens(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"
    expires_in: int


@app.post(
    "/auth/login",
    tags=["sessions"],
    summary="Sign in with email and password",
    responses=responses(200, "Tokens", s401="invalid_credentials", s403="email_not_verified"),
)
def log_in(body: LoginRequest) -> Tokens:
    http = app.current_event.request_context.http
    client = ClientInfo(ip=http.source_ip or "", user_agent=http.user_agent or "")
    try:
        pair = login_service().log_in(body.email, body.password, client)
    except DomainError:
        metrics.add_metric(name="LoginFailures", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name="Logins", unit=MetricUnit.Count, value=1)
    return Tokens(**pair.as_dict())  # type: ignore[arg-type]


lambda_handler = lambda_entry(app)
