"""Reads template.yaml: routes, the authorizer, the table, the table's stream consumers.
No second list to keep in sync."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """Understands CloudFormation's short intrinsic tags (!Ref, !GetAtt, !Sub, ...)."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    module: str
    handler: str
    # The function's Timeout (or Globals'): what its context's remaining time counts down from.
    timeout_seconds: float = 3.0


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    function: FunctionSpec
    protected: bool

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class AuthorizerSpec:
    function: FunctionSpec
    identity_headers: tuple[str, ...]
    simple_responses: bool
    payload_version: str


@dataclass(frozen=True)
class StreamSourceSpec:
    """A function fed by the table's stream (an event of Type DynamoDB), as its event
    source mapping is configured."""

    function: FunctionSpec
    batch_size: int
    # FilterCriteria's patterns, parsed; a record reaches the function if one matches.
    filters: tuple[dict[str, Any], ...]
    report_batch_item_failures: bool
    maximum_retry_attempts: int


@dataclass(frozen=True)
class ApiSpec:
    routes: list[RouteSpec]
    authorizer: AuthorizerSpec | None
    table: dict[str, Any]
    # Globals: Function: Environment: Variables, intrinsics (`{"Ref": ...}`) as they are.
    environment: dict[str, Any]
    # Parameters, by name: Type, Default, ...
    parameters: dict[str, Any] = field(default_factory=dict)
    stream_sources: list[StreamSourceSpec] = field(default_factory=list)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 # nosec B506 - a SafeLoader subclass
    return document


def _function(logical_id: str, resource: dict[str, Any], globals_: dict[str, Any]) -> FunctionSpec:
    props = resource["Properties"]
    handler = props.get("Handler") or globals_.get("Handler", "app.lambda_handler")
    module, _, attribute = handler.rpartition(".")
    return FunctionSpec(
        logical_id=logical_id,
        code_dir=PROJECT_ROOT / props["CodeUri"],
        module=module,
        handler=attribute,
        timeout_seconds=float(props.get("Timeout") or globals_.get("Timeout") or 3),
    )


def _function_of(arn: Any) -> str:
    """The function an ARN names: `!GetAtt Fn.Arn`, or `!Ref Fn.Alias` (its AutoPublishAlias)."""
    if isinstance(arn, dict) and "Fn::GetAtt" in arn:
        return str(arn["Fn::GetAtt"][0])
    if isinstance(arn, dict) and str(arn.get("Ref", "")).endswith(".Alias"):
        return str(arn["Ref"]).removesuffix(".Alias")
    raise ValueError(f"the local server cannot tell which function {arn!r} is")


def _stream_sources(
    resources: dict[str, Any], functions: dict[str, FunctionSpec], table_id: str
) -> list[StreamSourceSpec]:
    """Events of Type DynamoDB on this table's stream (`!GetAtt Table.StreamArn`)."""
    sources = []
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in (resource["Properties"].get("Events") or {}).values():
            props = event.get("Properties") or {}
            if event["Type"] != "DynamoDB" or props.get("Stream") != {"Fn::GetAtt": [table_id, "StreamArn"]}:
                continue
            filters = (props.get("FilterCriteria") or {}).get("Filters") or []
            sources.append(
                StreamSourceSpec(
                    function=functions[logical_id],
                    batch_size=int(props.get("BatchSize", 100)),
                    filters=tuple(json.loads(f["Pattern"]) for f in filters),
                    report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                    # Lambda's default: -1, retry until the record expires (locally: a few times).
                    maximum_retry_attempts=int(props.get("MaximumRetryAttempts", 3)),
                )
            )
    return sources


def api_spec(document: dict[str, Any] | None = None) -> ApiSpec:
    document = document or load_template()
    resources: dict[str, Any] = document["Resources"]
    globals_ = document.get("Globals", {}).get("Function", {})
    functions = {
        logical_id: _function(logical_id, resource, globals_)
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::Serverless::Function"
    }

    apis = {lid: r for lid, r in resources.items() if r["Type"] == "AWS::Serverless::HttpApi"}
    if len(apis) != 1:
        raise ValueError("the local server expects exactly one AWS::Serverless::HttpApi")
    api_auth = next(iter(apis.values()))["Properties"].get("Auth", {})
    default_authorizer = api_auth.get("DefaultAuthorizer")

    authorizer = None
    if default_authorizer:
        config = api_auth["Authorizers"][default_authorizer]
        function_id = _function_of(config["FunctionArn"])
        authorizer = AuthorizerSpec(
            function=functions[function_id],
            identity_headers=tuple(h.lower() for h in config.get("Identity", {}).get("Headers", [])),
            simple_responses=bool(config.get("EnableSimpleResponses")),
            payload_version=str(config.get("AuthorizerPayloadFormatVersion", "2.0")),
        )

    routes = []
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in (resource["Properties"].get("Events") or {}).values():
            if event["Type"] != "HttpApi":
                continue
            props = event["Properties"]
            auth = (props.get("Auth") or {}).get("Authorizer", default_authorizer)
            routes.append(
                RouteSpec(
                    method=str(props["Method"]).upper(),
                    path=str(props["Path"]),
                    function=functions[logical_id],
                    protected=bool(auth) and auth != "NONE",
                )
            )

    tables = [lid for lid, r in resources.items() if r["Type"] == "AWS::DynamoDB::Table"]
    if len(tables) != 1:
        raise ValueError("the local server expects exactly one AWS::DynamoDB::Table")
    environment = globals_.get("Environment", {}).get("Variables", {})
    return ApiSpec(
        routes=routes,
        authorizer=authorizer,
        table=resources[tables[0]]["Properties"],
        environment=environment,
        parameters=document.get("Parameters") or {},
        stream_sources=_stream_sources(resources, functions, tables[0]),
    )
