"""infra/app_config.py: the /config.json the apps get on AWS, from the stack's outputs."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.adapters.auth import JwksFileKeys, JwtVerifier
from chalicelib.services.iot_authorizer import IotAuthorizer
from infra.app_config import AUTHORIZER_PARAMETER, app_config
from serverlesspresso import watch
from serverlesspresso.identity import AUDIENCE, ISSUER, LocalIdentityProvider
from serverlesspresso.runtime import LocalRuntime

EXAMPLE = {
    "api_url": "https://d111111abcdef8.cloudfront.net",
    "user_pool_id": "eu-west-1_AbCdEf123",
    "user_pool_client_id": "1h2g3f4e5d6c7b8a9z0y1x2w3v",
    "iot_endpoint": "a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com",
    "authorizer_name": "serverlesspresso-dev-iot",
}


def test_the_config_for_example_values() -> None:
    assert app_config(**EXAMPLE) == {
        "apiUrl": "https://d111111abcdef8.cloudfront.net",
        "graphqlUrl": "https://d111111abcdef8.cloudfront.net/graphql",
        "mqttUrl": "wss://a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com/mqtt"
        "?x-amz-customauthorizer-name=serverlesspresso-dev-iot",
        "mqttUsername": "serverlesspresso-web?x-amz-customauthorizer-name=serverlesspresso-dev-iot",
        "defaultShopId": "default",
        "auth": {"userPoolId": "eu-west-1_AbCdEf123", "userPoolClientId": "1h2g3f4e5d6c7b8a9z0y1x2w3v"},
    }


def test_it_has_the_shape_the_local_runtime_serves_without_the_local_sign_in_endpoint() -> None:
    local = LocalRuntime.web_config(None)  # type: ignore[arg-type]  # the method reads only constants
    aws = app_config(**EXAMPLE)
    assert set(aws) == set(local)
    assert set(aws["auth"]) == set(local["auth"]) - {"userPoolEndpoint"}
    assert all(isinstance(value, str) and value for key, value in aws.items() if key != "auth")


def test_the_default_shop_can_be_named() -> None:
    assert app_config(**EXAMPLE, default_shop_id="downtown")["defaultShopId"] == "downtown"


def test_an_api_url_with_a_path_or_a_trailing_slash() -> None:
    config = app_config(**{**EXAMPLE, "api_url": "https://abc123.execute-api.eu-west-1.amazonaws.com/api/"})
    assert config["apiUrl"] == "https://abc123.execute-api.eu-west-1.amazonaws.com/api"
    assert config["graphqlUrl"] == "https://abc123.execute-api.eu-west-1.amazonaws.com/api/graphql"


def test_iot_core_finds_the_authorizer_in_the_url_and_in_the_username() -> None:
    config = app_config(**EXAMPLE)
    url = urlsplit(config["mqttUrl"])
    assert (url.scheme, url.hostname, url.port, url.path) == ("wss", EXAMPLE["iot_endpoint"], None, "/mqtt")
    assert parse_qs(url.query) == {AUTHORIZER_PARAMETER: [EXAMPLE["authorizer_name"]]}
    _, _, username_query = config["mqttUsername"].partition("?")
    assert parse_qs(username_query) == {AUTHORIZER_PARAMETER: [EXAMPLE["authorizer_name"]]}
    assert AUTHORIZER_PARAMETER == watch.AUTHORIZER_PARAMETER  # the apps and `watch` name it alike


def test_cdk_tokens_pass_through_untouched() -> None:
    # In the stack every value is a token until CloudFormation resolves it: nothing may parse or encode them.
    tokens = {
        "api_url": "https://${Token[TOKEN.812]}",
        "user_pool_id": "${Token[TOKEN.300]}",
        "user_pool_client_id": "${Token[TOKEN.305]}",
        "iot_endpoint": "${Token[TOKEN.411]}",
        "authorizer_name": "${Token[TOKEN.420]}",
    }
    config = app_config(**tokens)
    assert config["apiUrl"] == "https://${Token[TOKEN.812]}"
    assert config["graphqlUrl"] == "https://${Token[TOKEN.812]}/graphql"
    assert config["mqttUrl"] == "wss://${Token[TOKEN.411]}/mqtt?x-amz-customauthorizer-name=${Token[TOKEN.420]}"
    assert config["mqttUsername"] == "serverlesspresso-web?x-amz-customauthorizer-name=${Token[TOKEN.420]}"
    assert config["auth"] == {"userPoolId": "${Token[TOKEN.300]}", "userPoolClientId": "${Token[TOKEN.305]}"}


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"api_url": "http://d111111abcdef8.cloudfront.net"}, "https://"),
        ({"api_url": "d111111abcdef8.cloudfront.net"}, "https://"),
        ({"api_url": "https://api.example.com/?stage=x"}, "without query"),
        ({"iot_endpoint": "https://a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com"}, "without scheme"),
        ({"iot_endpoint": "a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com/mqtt"}, "without scheme or path"),
        ({"authorizer_name": "has space"}, "not an IoT Core authorizer name"),
        ({"authorizer_name": "a&b"}, "not an IoT Core authorizer name"),
        ({"authorizer_name": ""}, "not an IoT Core authorizer name"),
        ({"user_pool_id": ""}, "user_pool_id is empty"),
        ({"user_pool_client_id": " "}, "user_pool_client_id is empty"),
    ],
)
def test_a_value_that_cannot_work_is_refused(change: dict[str, str], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        app_config(**{**EXAMPLE, **change})


def test_the_authorizer_accepts_a_connect_made_from_this_config(tmp_path: Path) -> None:
    """An app connects with the config's username and its ID token as password; IoT Core hands the authorizer both."""
    identity = LocalIdentityProvider(tmp_path)
    identity.ensure_keys()
    token = identity.issue("alice")
    config = app_config(**EXAMPLE)
    event: dict[str, Any] = {
        "signatureVerified": False,
        "protocols": ["tls", "http", "mqtt"],
        "protocolData": {
            "tls": {"serverName": EXAMPLE["iot_endpoint"]},
            "http": {"headers": {}, "queryString": "?" + urlsplit(config["mqttUrl"]).query},
            "mqtt": {
                "username": config["mqttUsername"],
                "password": base64.b64encode(token.encode()).decode(),  # IoT Core base64-encodes the password
                "clientId": "sp-web-0123456789",
            },
        },
        "connectionMetadata": {"id": "c0ffee00-0000-4000-8000-000000000000"},
    }
    verifier = JwtVerifier(JwksFileKeys(str(identity.jwks_path)), ISSUER, AUDIENCE)
    answer = IotAuthorizer(verifier, "123456789012", "eu-west-1").authorize(event)
    assert answer["isAuthenticated"] is True


WEB_TESTDATA = Path(__file__).resolve().parents[2] / "web" / "src" / "shared" / "testdata"


def test_the_apps_tests_read_exactly_these_configs() -> None:
    # web/src/shared/config.test.ts and auth.test.ts resolve these files; they must be what AWS and `up` serve.
    assert json.loads((WEB_TESTDATA / "config.aws.json").read_text()) == app_config(**EXAMPLE)
    local = LocalRuntime.web_config(None)  # type: ignore[arg-type]
    assert json.loads((WEB_TESTDATA / "config.local.json").read_text()) == local
