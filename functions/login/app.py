"""Password login: `POST /auth/login`."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field

from kuploy_access.domain.errors import DomainError
from kuploy_access.http.api import create_app, lambda_entry, metrics
from kuploy_access.http.openapi_docs import responses
from kuploy_access.http.schemas import Tokens, client_of
from kuploy_access.wiring import login_service

app = create_app()


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024, repr=False)


@app.post(
    "/auth/login",
    tags=["sessions"],
    summary="Sign in with email and password",
    responses=responses(200, "Tokens", s401="invalid_credentials", s403="email_not_verified", s429="rate_limited"),
)
def log_in(body: LoginRequest) -> Tokens:
    client = client_of(app.current_event)
    try:
        pair = login_service().log_in(body.email, body.password, client)
    except DomainError:
        metrics.add_metric(name="LoginFailures", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name="Logins", unit=MetricUnit.Count, value=1)
    return Tokens.of(pair)


lambda_handler = lambda_entry(app)
