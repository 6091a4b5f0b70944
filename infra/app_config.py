"""The apps' /config.json on AWS, from the stack's outputs: the shape LocalRuntime.web_config() serves locally.

Pure string work, so the arguments may be CDK tokens (resolved when CloudFormation deploys the file): nothing here
parses, encodes or measures a value, and checks apply only to values that are already known.
"""

from __future__ import annotations

import re
from typing import Any

# IoT Core reads the custom authorizer's name from this query parameter: of the MQTT CONNECT username (the AWS IoT
# Device SDKs' way) and of the WebSocket upgrade request (how it names an authorizer for HTTP). The apps send both;
# the authorizer itself reads the ID token from the CONNECT password (chalicelib/services/iot_authorizer.py).
AUTHORIZER_PARAMETER = "x-amz-customauthorizer-name"
MQTT_USERNAME = "serverlesspresso-web"  # the authorizer ignores it; it names the client in IoT Core's logs
MQTT_PATH = "/mqtt"

# IoT Core's pattern for an authorizer's name; `=` `,` `@` are allowed in a query value, so no encoding is needed.
_AUTHORIZER_NAME = re.compile(r"[\w=,@-]{1,128}")
_HOST_NAME = re.compile(r"[A-Za-z0-9.-]{1,253}")


def _unresolved(value: str) -> bool:
    """A CDK token (`${Token[...]}`) or a CloudFormation intrinsic rendered into a string: known only at deploy."""
    return "${" in value


def app_config(
    api_url: str,
    user_pool_id: str,
    user_pool_client_id: str,
    iot_endpoint: str,
    authorizer_name: str,
    default_shop_id: str = "default",
) -> dict[str, Any]:
    """What the apps read from /config.json (web/src/shared/config.ts), with AWS addresses.

    `api_url` is the API's HTTPS origin (and path, if any) without a trailing slash; `iot_endpoint` the account's
    IoT Core data endpoint (a host name, `…-ats.iot.REGION.amazonaws.com`); `authorizer_name` the IoT custom
    authorizer's name. Amplify talks to Cognito's regional endpoint, which it derives from the pool id: no
    `userPoolEndpoint` (locally that points at `up`'s stand-in).
    """
    if not _unresolved(api_url) and not re.fullmatch(r"https://[^/?#\s]+(/[^?#\s]*)?", api_url):
        raise ValueError(f"api_url must be an https:// URL without query (the apps are served over HTTPS): {api_url!r}")
    if not _unresolved(iot_endpoint) and not _HOST_NAME.fullmatch(iot_endpoint):
        raise ValueError(f"iot_endpoint must be a host name, without scheme or path: {iot_endpoint!r}")
    if not _unresolved(authorizer_name) and not _AUTHORIZER_NAME.fullmatch(authorizer_name):
        raise ValueError(f"authorizer_name is not an IoT Core authorizer name: {authorizer_name!r}")
    for name, value in (("user_pool_id", user_pool_id), ("user_pool_client_id", user_pool_client_id)):
        if not value.strip():
            raise ValueError(f"{name} is empty")
    api = api_url.removesuffix("/")
    authorizer = f"{AUTHORIZER_PARAMETER}={authorizer_name}"
    return {
        "apiUrl": api,
        "graphqlUrl": f"{api}/graphql",
        "mqttUrl": f"wss://{iot_endpoint}{MQTT_PATH}?{authorizer}",
        "mqttUsername": f"{MQTT_USERNAME}?{authorizer}",
        "defaultShopId": default_shop_id,
        "auth": {"userPoolId": user_pool_id, "userPoolClientId": user_pool_client_id},
    }
