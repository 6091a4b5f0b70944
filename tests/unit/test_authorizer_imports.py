"""The IoT authorizer's cold start stays small: its Lambda loads PyJWT and the topic rules, not the AWS SDK or GraphQL.

IoT Core gives a custom authorizer 5 seconds, cold start included (docs/performance.md has the figures). Lambda
imports the module its handler string names, so the test reads that string from the app, imports that module in
a fresh interpreter, invokes the function with a real token, and looks at what got imported.
"""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import app
from serverlesspresso.identity import AUDIENCE, ISSUER, LocalIdentityProvider

ROOT = Path(__file__).resolve().parents[2]

# Each of these costs tens to hundreds of milliseconds to import (without bytecode, as on Lambda, far more).
FORBIDDEN = ("boto3", "botocore", "s3transfer", "pynamodb", "strawberry", "graphql", "awscrt", "moto", "app")
# Our own modules that bring those in, or that the authorizer has no use for.
FORBIDDEN_OURS = ("chalicelib.bootstrap", "chalicelib.adapters.dynamodb", "chalicelib.readside", "serverlesspresso")

CHILD = """
import base64, importlib, json, sys
module_name, _, function_name = sys.argv[1].rpartition(".")
handler = getattr(importlib.import_module(module_name), function_name)

class Context:
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:iot_authorizer"

password = base64.b64encode(sys.argv[2].encode()).decode()
answer = handler({"protocolData": {"mqtt": {"username": "u", "password": password, "clientId": "c"}}}, Context())
print(json.dumps({"authenticated": answer["isAuthenticated"], "modules": sorted(sys.modules)}))
"""


def authorizer_handler() -> str:
    (function,) = [f for f in app.pure_lambda_functions if f.name == "iot_authorizer"]
    return str(function.handler_string)


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> LocalIdentityProvider:
    provider = LocalIdentityProvider(tmp_path_factory.mktemp("authorizer-imports"))
    provider.ensure_keys()
    return provider


@pytest.fixture(scope="module")
def jwks_url(identity: LocalIdentityProvider) -> Iterator[str]:
    """The keys over HTTP, as Cognito serves them, so the first call takes the deployed path (JwksUrlKeys)."""
    body = identity.jwks_path.read_bytes()

    class Keys(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Keys)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def loaded(identity: LocalIdentityProvider, jwks_url: str) -> list[str]:
    """Every module a fresh interpreter has after importing the handler's module and one authorized call."""
    env = {"PATH": "/usr/bin:/bin", "AWS_REGION": "eu-west-1", "JWKS_URL": jwks_url}
    env |= {"JWT_ISSUER": ISSUER, "JWT_AUDIENCE": AUDIENCE}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, authorizer_handler(), identity.issue("alice")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["authenticated"] is True, "the fresh authorizer should accept a real token"
    return list(result["modules"])


def test_lambda_loads_the_authorizer_from_its_blueprint_not_from_app_py() -> None:
    # A function declared in app.py would have the handler string app.<name>: Lambda would import every blueprint.
    assert authorizer_handler() == "chalicelib.handlers.iot.authorize"


def test_the_authorizer_imports_neither_the_aws_sdk_nor_the_orm_nor_graphql(loaded: list[str]) -> None:
    heavy = sorted({name for name in loaded if name.split(".")[0] in FORBIDDEN})
    assert heavy == [], f"the IoT authorizer's cold start now imports {heavy[:10]}"


def test_the_authorizer_imports_none_of_our_modules_that_bring_them(loaded: list[str]) -> None:
    ours = sorted(name for name in loaded if any(name == f or name.startswith(f + ".") for f in FORBIDDEN_OURS))
    assert ours == [], f"the IoT authorizer's cold start now imports {ours}"


def test_the_authorizer_does_use_pyjwt_and_the_topic_rules(loaded: list[str]) -> None:
    # Guards the guard: the child really ran the authorizer (a stub would pass the other tests).
    assert {"jwt", "chalicelib.services.iot_authorizer", "chalicelib.domain.live"} <= set(loaded)
