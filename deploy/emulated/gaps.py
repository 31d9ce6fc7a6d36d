"""What moto 5.2.5 cannot answer for deploy/terraform, answered in front of it on loopback.

The provider is pointed at this server for every service; it answers three gaps itself and
passes every other request to moto unchanged:

- **CloudWatch** (alarms, composite alarms, dashboards): the provider speaks CloudWatch's
  Smithy RPC v2 CBOR protocol (`POST /service/GraniteServiceVersion20100801/operation/<Op>`),
  which moto does not route. Each call is translated to the same operation in CloudWatch's JSON
  protocol, which moto serves: CBOR decoded (cbor2), re-encoded by botocore's own JSON
  serializer for that operation, moto's answer parsed by botocore's JSON parser and encoded back
  to CBOR. The alarms are moto's.
- **X-Ray groups and sampling rules**, which moto does not implement: held here (xray_state.py).
- **Composite alarms** (PutCompositeAlarm, which moto does not route), with their tags: held
  here (composite_alarms.py); DescribeAlarms for composites answered from them.
- **CloudWatch Logs query definitions** (Put/Describe/DeleteQueryDefinition): held here.
- **Application Auto Scaling tags** (ListTagsForResource, TagResource, UntagResource), which moto
  does not implement: held here; its other calls are moto's.
- **The description of a security group rule that references another group**, which moto keeps
  but never returns (ec2_rules.py).
- **An ECS service's healthCheckGracePeriodSeconds**, which moto accepts but never returns (the
  provider would plan `0 -> 60` forever): remembered from CreateService and UpdateService and
  written back into moto's answers about that service.

Requests are not authenticated (moto does not check signatures either).
"""

from __future__ import annotations

import http.client
import json
import subprocess
import threading
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import botocore.session
import cbor2
from botocore import parsers, serialize

from deploy.emulated import ec2_rules
from deploy.emulated.composite_alarms import CompositeAlarms
from deploy.emulated.query_definitions import QueryDefinitions
from deploy.emulated.xray_state import XRayError, XRayState
from harness.polling import eventually
from harness.server_process import ROOT, free_port

CBOR_PREFIX = "/service/GraniteServiceVersion20100801/operation/"
AUTOSCALING_TARGET = "AnyScaleFrontendService."
AUTOSCALING_TAG_OPERATIONS = {"ListTagsForResource", "TagResource", "UntagResource"}
ECS_TARGET = "AmazonEC2ContainerServiceV20141113."
LOGS_TARGET = "Logs_20140328."
QUERY_OPS = {"PutQueryDefinition", "DescribeQueryDefinitions", "DeleteQueryDefinition"}
FORM = "application/x-www-form-urlencoded"  # the query protocols (EC2, IAM, ELB)
GRACE = "healthCheckGracePeriodSeconds"


class Gaps:
    """The state this server holds itself, and where moto is."""

    def __init__(self, moto_url: str) -> None:
        self.moto = urlsplit(moto_url)
        self.xray = XRayState()
        self.autoscaling_tags: dict[str, dict[str, str]] = {}
        self.grace_periods: dict[tuple[str, str], int] = {}  # (cluster, service) -> seconds
        self.rule_descriptions: dict[str, str] = {}  # security group rule id -> description
        self.query_definitions = QueryDefinitions()
        self.composite_alarms = CompositeAlarms()
        self.lock = threading.Lock()
        self.cloudwatch = botocore.session.get_session().get_service_model("cloudwatch")
        self.calls: list[str] = []  # "service.Operation" of each call answered here


class Handler(BaseHTTPRequestHandler):
    gaps: Gaps  # set on the subclass serve() makes

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target", "")
        operation = target.removeprefix(AUTOSCALING_TARGET)
        if self.path.startswith(CBOR_PREFIX):
            self._cloudwatch(self.path.removeprefix(CBOR_PREFIX), body)
        elif target.startswith(AUTOSCALING_TARGET) and operation in AUTOSCALING_TAG_OPERATIONS:
            self._autoscaling_tags(operation, json.loads(body or b"{}"))
        elif method == "POST" and self.gaps.xray.serves(self.path):
            self._xray(self.path.strip("/"), json.loads(body or b"{}"))
        elif target.startswith(LOGS_TARGET) and target.removeprefix(LOGS_TARGET) in QUERY_OPS:
            self._query_definitions(target.removeprefix(LOGS_TARGET), json.loads(body or b"{}"))
        elif target.startswith(ECS_TARGET):
            self._to_moto(method, body, self._ecs_grace_periods(json.loads(body or b"{}")))
        elif self.headers.get("Content-Type", "").startswith(FORM):
            self._to_moto(method, body, self._rule_descriptions(body))
        else:
            self._to_moto(method, body)

    def _cloudwatch(self, operation_name: str, body: bytes) -> None:
        """One CloudWatch call, CBOR to moto's JSON protocol and back."""
        self.gaps.calls.append(f"cloudwatch.{operation_name}")
        operation = self.gaps.cloudwatch.operation_model(operation_name)
        params = cbor2.loads(body) if body else {}
        with self.gaps.lock:
            held = self.gaps.composite_alarms.answers(operation_name, params)
            if operation_name == "DeleteAlarms":
                self.gaps.composite_alarms.delete(params.get("AlarmNames", []))
        if held is not None:
            self._send_cbor(200, held, None)
            return
        request = serialize.create_serializer("json").serialize_to_request(params, operation)
        headers = {**request["headers"], "Authorization": self.headers.get("Authorization", "")}
        status, answer_headers, answer = self._moto_call("POST", "/", request["body"], headers)
        parsed = parsers.create_parser("json").parse(
            {"status_code": status, "headers": answer_headers, "body": answer},
            operation.output_shape,
        )
        parsed.pop("ResponseMetadata", None)
        if status >= 300:
            error = parsed.get("Error", {})
            document = {"__type": error.get("Code", ""), "message": error.get("Message", "")}
            query_error = answer_headers.get("x-amzn-query-error")
            self._send_cbor(status, document, query_error)
        else:
            self._send_cbor(200, parsed, None)

    def _send_cbor(self, status: int, document: dict[str, Any], query_error: str | None) -> None:
        body = cbor2.dumps(_aware(document), datetime_as_timestamp=True)
        self.send_response(status)
        self.send_header("smithy-protocol", "rpc-v2-cbor")
        self.send_header("Content-Type", "application/cbor")
        if query_error:
            self.send_header("x-amzn-query-error", query_error)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _autoscaling_tags(self, operation: str, request: dict[str, Any]) -> None:
        self.gaps.calls.append(f"application-autoscaling.{operation}")
        with self.gaps.lock:
            tags = self.gaps.autoscaling_tags.setdefault(request["ResourceARN"], {})
            if operation == "TagResource":
                tags.update(request.get("Tags", {}))
            elif operation == "UntagResource":
                for key in request.get("TagKeys", []):
                    tags.pop(key, None)
            answer = {"Tags": dict(tags)} if operation == "ListTagsForResource" else {}
        self._send_json(200, answer, "application/x-amz-json-1.1")

    def _query_definitions(self, operation: str, request: dict[str, Any]) -> None:
        self.gaps.calls.append(f"logs.{operation}")
        with self.gaps.lock:
            answer = self.gaps.query_definitions.call(operation, request)
        self._send_json(200, answer, "application/x-amz-json-1.1")

    def _xray(self, operation: str, request: dict[str, Any]) -> None:
        self.gaps.calls.append(f"xray.{operation}")
        try:
            with self.gaps.lock:
                answer = self.gaps.xray.call(operation, request)
        except XRayError as error:
            message = {"message": error.message}
            headers = {"x-amzn-ErrorType": error.code}
            self._send_json(error.status, message, "application/json", headers)
            return
        self._send_json(200, answer, "application/json")

    def _send_json(
        self, status: int, document: Any, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        body = json.dumps(document, default=_epoch).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _ecs_grace_periods(self, request: dict[str, Any]) -> Callable[[bytes], bytes]:
        """Remembers a grace period sent; returns what writes them back into moto's answer."""
        key = (
            _short(request.get("cluster", "default")),
            _short(request.get("serviceName") or request.get("service", "")),
        )
        with self.gaps.lock:
            if GRACE in request:
                self.gaps.grace_periods[key] = request[GRACE]
            known = dict(self.gaps.grace_periods)

        def amend(answer: bytes) -> bytes:
            document = json.loads(answer or b"{}")
            services = document.get("services", []) + [document.get("service") or {}]
            for service in services:
                key = (_short(service.get("clusterArn", "")), service.get("serviceName"))
                if key in known:
                    service[GRACE] = known[key]
            return json.dumps(document).encode()

        return amend

    def _rule_descriptions(self, body: bytes) -> Callable[[bytes], bytes] | None:
        """EC2's group-referencing rule descriptions (ec2_rules.py); None for other calls."""
        action, form = ec2_rules.action(body)
        description = ec2_rules.pair_description(form) if action in ec2_rules.AUTHORIZE else None
        if description is not None:

            def remember(answer: bytes) -> bytes:
                if (rule_id := ec2_rules.created_rule(answer)) is not None:
                    with self.gaps.lock:
                        self.gaps.rule_descriptions[rule_id] = description
                return answer

            return remember
        if action == ec2_rules.DESCRIBE:
            with self.gaps.lock:
                known = dict(self.gaps.rule_descriptions)
            return lambda answer: ec2_rules.with_descriptions(answer, known)
        return None

    def _to_moto(
        self, method: str, body: bytes, amend: Callable[[bytes], bytes] | None = None
    ) -> None:
        status, headers, answer = self._moto_call(method, self.path, body, dict(self.headers))
        if amend is not None and status == 200:
            answer = amend(answer)
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in (
                "content-length",
                "transfer-encoding",
                "connection",
                "date",
                "server",
            ):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def _moto_call(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        moto = self.gaps.moto
        connection = http.client.HTTPConnection(moto.hostname or "127.0.0.1", moto.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return (
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read(),
            )
        finally:
            connection.close()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet: deploy-plan prints its own report."""


def _short(name_or_arn: str) -> str:
    """A cluster's or service's name from its name or ARN (…:cluster/NAME, …:service/C/NAME)."""
    return name_or_arn.rsplit("/", 1)[-1]


def _aware(value: Any) -> Any:
    """cbor2 encodes only timezone-aware datetimes as timestamps; botocore's may be naive."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    if isinstance(value, dict):
        return {k: _aware(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_aware(v) for v in value]
    return value


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"not JSON: {type(value).__name__}")


def serve(gaps: Gaps) -> ThreadingHTTPServer:
    """Serves on a free loopback port in a daemon thread; `server.server_port` is the port."""
    handler = type("GapsHandler", (Handler,), {"gaps": gaps})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@contextmanager
def emulated_aws() -> Iterator[tuple[str, str, Gaps]]:
    """moto_server on a free port, fresh, and this server in front of it; yields this server's
    URL (what the provider and the tests talk to), moto's URL and this server's state."""
    port = free_port()
    moto = subprocess.Popen(
        [str(ROOT / ".venv/bin/moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    moto_url = f"http://127.0.0.1:{port}"
    server = None
    try:
        eventually(lambda: _answers(moto_url) or None, 30, "moto_server")
        state = Gaps(moto_url)
        server = serve(state)
        yield f"http://127.0.0.1:{server.server_port}", moto_url, state
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        moto.terminate()
        moto.wait(10)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/moto-api/", timeout=2):
            return True
    except OSError:
        return False
