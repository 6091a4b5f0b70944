"""What each stage's template declares where moto cannot show it: sign-in, the IoT authorizer, the API's routes and
gateway responses, the CDN with CORS, failure handling, alarms, and the table and workflow settings moto ignores.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from infra_kit import REPO, STAGES, expanded, of_type

from app import app as chalice_app
from infra.chalice_app import read_functions
from infra.stages import stage_named

FAKE_APPS_DOMAIN = "d111111abcdef8.cloudfront.net"
DISTRIBUTION = "AWS::CloudFront::Distribution"


def _one(doc: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    (found,) = of_type(doc, resource_type).items()
    return found[0], found[1]["Properties"]


def _functions_by_name(doc: dict[str, Any]) -> dict[str, str]:
    """Function name -> logical id."""
    return {
        r["Properties"]["FunctionName"]: lid
        for lid, r in of_type(doc, "AWS::Lambda::Function").items()
        if isinstance(r["Properties"].get("FunctionName"), str)
    }


@pytest.mark.parametrize("stage", STAGES)
def test_the_table_is_on_demand_with_point_in_time_recovery_and_the_code_windows_ttl(stage: str) -> None:
    doc = expanded(stage)
    (table,) = of_type(doc, "AWS::DynamoDB::Table").values()
    properties = table["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    keeps_data = stage_named(stage).keeps_data
    assert table["DeletionPolicy"] == ("Retain" if keeps_data else "Delete")
    assert properties.get("DeletionProtectionEnabled", False) is keeps_data


@pytest.mark.parametrize("stage", STAGES)
def test_the_workflow_gets_the_table_and_the_bus_and_logs_errors_without_data(stage: str) -> None:
    doc = expanded(stage)
    _, machine = _one(doc, "AWS::StepFunctions::StateMachine")
    table_id, _ = _one(doc, "AWS::DynamoDB::Table")
    assert machine["StateMachineType"] == "STANDARD"
    assert machine["DefinitionSubstitutions"] == {"TableName": {"Ref": table_id}, "EventBusName": "default"}
    assert json.loads(machine["DefinitionString"]) == json.loads((REPO / "statemachine.json").read_text())
    logging = machine["LoggingConfiguration"]
    assert (logging["Level"], logging["IncludeExecutionData"]) == ("ERROR", False)


@pytest.mark.parametrize("stage", STAGES)
def test_people_sign_in_without_a_password_by_phone(stage: str) -> None:
    doc = expanded(stage)
    pool_id, pool = _one(doc, "AWS::Cognito::UserPool")
    assert pool["UsernameAttributes"] == ["phone_number"]
    assert {"SMS_OTP", "EMAIL_OTP"} <= set(pool["Policies"]["SignInPolicy"]["AllowedFirstAuthFactors"])
    assert pool["UserPoolTier"] == "ESSENTIALS"  # choice-based sign-in needs Essentials or Plus
    assert "SnsCallerArn" in pool["SmsConfiguration"]
    pre_sign_up = pool["LambdaConfig"]["PreSignUp"]["Fn::GetAtt"][0]
    code = doc["Resources"][pre_sign_up]["Properties"]
    assert code["Handler"] == "pre_sign_up.handler"
    _, client = _one(doc, "AWS::Cognito::UserPoolClient")
    assert client["UserPoolId"] == {"Ref": pool_id}
    assert set(client["ExplicitAuthFlows"]) == {"ALLOW_USER_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
    assert client["GenerateSecret"] is False
    _, group = _one(doc, "AWS::Cognito::UserPoolGroup")
    assert (group["GroupName"], group["UserPoolId"]) == ("admin", {"Ref": pool_id})
    permissions = [
        p["Properties"]
        for p in of_type(doc, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "cognito-idp.amazonaws.com"
    ]
    assert [p["FunctionName"] for p in permissions] == [{"Fn::GetAtt": [pre_sign_up, "Arn"]}]


@pytest.mark.parametrize("stage", STAGES)
def test_iot_core_authorizes_with_the_app_s_authorizer_function(stage: str) -> None:
    doc = expanded(stage)
    authorizer_id, authorizer = _one(doc, "AWS::IoT::Authorizer")
    function_id = _functions_by_name(doc)[stage_named(stage).resource_name("iot_authorizer")]
    assert authorizer["AuthorizerFunctionArn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert (authorizer["SigningDisabled"], authorizer["Status"]) == (True, "ACTIVE")
    (permission,) = [
        p["Properties"]
        for p in of_type(doc, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "iot.amazonaws.com"
    ]
    assert permission["SourceArn"] == {"Fn::GetAtt": [authorizer_id, "Arn"]}
    assert permission["Action"] == "lambda:InvokeFunction"


@pytest.mark.parametrize("stage", STAGES)
def test_the_api_has_the_app_s_routes_and_answers_unknown_ones_in_its_error_shape(stage: str) -> None:
    doc = expanded(stage)
    _, api = _one(doc, "AWS::ApiGateway::RestApi")
    assert api["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    body = api["Body"]
    routes = {(path, method.lower()) for path, entries in chalice_app.routes.items() for method in entries}
    assert {(p, m) for p, methods in body["paths"].items() for m in methods} == routes
    responses = body["x-amazon-apigateway-gateway-responses"]
    unknown = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert unknown["statusCode"] == "404"
    assert json.loads(unknown["responseTemplates"]["application/json"])["error"]["code"] == "not_found"
    for response_type in ("DEFAULT_4XX", "DEFAULT_5XX"):
        error = json.loads(responses[response_type]["responseTemplates"]["application/json"])["error"]
        assert set(error) == {"code", "message"}
    # $context.error.message* repeats the request's Authorization header for a missing route: never in a response.
    assert "$context" not in json.dumps(responses)
    (stage_resource,) = of_type(doc, "AWS::ApiGateway::Stage").values()
    assert stage_resource["Properties"]["MethodSettings"][0]["ThrottlingRateLimit"] > 0


def _resolve(value: Any, apps_domain: str) -> str:
    """A CloudFront Function's code: literal text, or a join with the apps' domain name in it."""
    if isinstance(value, str):
        return value
    parts = value["Fn::Join"][1]
    return "".join(part if isinstance(part, str) else apps_domain for part in parts)


def _run_cloudfront_function(code: str, event: dict[str, Any]) -> Any:
    script = f"{code}\nprocess.stdout.write(JSON.stringify(handler({json.dumps(event)})));"
    result = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True, timeout=30)
    return json.loads(result.stdout)


def _cloudfront_function(doc: dict[str, Any], name_suffix: str) -> str:
    (function,) = [
        r["Properties"]
        for r in of_type(doc, "AWS::CloudFront::Function").values()
        if r["Properties"]["Name"].endswith(name_suffix)
    ]
    return _resolve(function["FunctionCode"], FAKE_APPS_DOMAIN)


def _request(method: str, uri: str, origin: str | None = None) -> dict[str, Any]:
    headers = {"origin": {"value": origin}} if origin else {}
    return {"version": "1.0", "request": {"method": method, "uri": uri, "headers": headers, "querystring": {}}}


@pytest.mark.parametrize("stage", STAGES)
def test_the_apps_clean_paths_reach_their_pages(stage: str) -> None:
    code = _cloudfront_function(expanded(stage), "app-pages")
    for path, page in (("/order", "/order.html"), ("/barista/", "/barista.html"), ("/display", "/display.html")):
        assert _run_cloudfront_function(code, _request("GET", path))["uri"] == page
    assert _run_cloudfront_function(code, _request("GET", "/assets/x.js"))["uri"] == "/assets/x.js"


@pytest.mark.parametrize("stage", STAGES)
def test_the_api_answers_the_apps_preflight_and_nobody_else_s(stage: str) -> None:
    doc = expanded(stage)
    code = _cloudfront_function(doc, "api-preflight")
    apps = f"https://{FAKE_APPS_DOMAIN}"
    answer = _run_cloudfront_function(code, _request("OPTIONS", "/shops/default/orders", apps))
    assert answer["statusCode"] == 204
    assert answer["headers"]["access-control-allow-origin"]["value"] == apps
    assert "Authorization" in answer["headers"]["access-control-allow-headers"]["value"]
    foreign = _run_cloudfront_function(code, _request("OPTIONS", "/graphql", "https://evil.example"))
    assert "access-control-allow-origin" not in foreign["headers"]
    passed = _run_cloudfront_function(code, _request("POST", "/graphql", apps))
    assert passed["method"] == "POST"  # not a preflight: on to the API
    (policy,) = of_type(doc, "AWS::CloudFront::ResponseHeadersPolicy").values()
    cors = policy["Properties"]["ResponseHeadersPolicyConfig"]["CorsConfig"]
    origins = [_resolve(o, FAKE_APPS_DOMAIN) for o in cors["AccessControlAllowOrigins"]["Items"]]
    assert origins == [apps]
    assert cors["AccessControlAllowCredentials"] is False


@pytest.mark.parametrize("stage", STAGES)
def test_the_api_distribution_forwards_to_the_api_stage_uncached(stage: str) -> None:
    doc = expanded(stage)
    distributions = [r["Properties"]["DistributionConfig"] for r in of_type(doc, DISTRIBUTION).values()]
    (api,) = [d for d in distributions if d["Comment"].endswith("API")]
    (origin,) = api["Origins"]
    assert origin["OriginPath"] == "/api"
    assert "execute-api" in json.dumps(origin["DomainName"])
    behaviour = api["DefaultCacheBehavior"]
    assert behaviour["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # Managed-CachingDisabled
    assert behaviour["OriginRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac"  # AllViewerExceptHostHeader
    assert set(behaviour["AllowedMethods"]) >= {"POST", "PUT", "PATCH", "OPTIONS"}


@pytest.mark.parametrize("stage", STAGES)
def test_the_web_bucket_is_private_and_read_by_cloudfront_only(stage: str) -> None:
    doc = expanded(stage)
    bucket_id, bucket = _one(doc, "AWS::S3::Bucket")
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    distributions = [r["Properties"]["DistributionConfig"] for r in of_type(doc, DISTRIBUTION).values()]
    (apps,) = [d for d in distributions if d["Comment"].endswith("apps")]
    assert "OriginAccessControlId" in apps["Origins"][0]
    _, policy = _one(doc, "AWS::S3::BucketPolicy")
    readers = [
        s
        for s in policy["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow" and s.get("Principal") == {"Service": "cloudfront.amazonaws.com"}
    ]
    assert [s["Action"] for s in readers] == ["s3:GetObject"]
    assert policy["Bucket"] == {"Ref": bucket_id}


@pytest.mark.parametrize("stage", STAGES)
def test_every_asynchronous_function_sends_what_it_cannot_handle_to_the_failure_queue(stage: str) -> None:
    doc = expanded(stage)
    configs = {
        json.dumps(r["Properties"]["FunctionName"]): r["Properties"]
        for r in of_type(doc, "AWS::Lambda::EventInvokeConfig").values()
    }
    by_name = _functions_by_name(doc)
    queues = {lid for lid in of_type(doc, "AWS::SQS::Queue") if "FunctionFailures" in lid}
    for function in (f for f in read_functions() if f.invoked_asynchronously):
        logical_id = by_name[stage_named(stage).resource_name(function.name)]
        (config,) = [c for key, c in configs.items() if f'"{logical_id}"' in key]
        destination = config["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
        assert destination in queues
        assert config["MaximumRetryAttempts"] in (0, 1, 2)


@pytest.mark.parametrize("stage", STAGES)
def test_every_dead_letter_queue_is_alarmed(stage: str) -> None:
    doc = expanded(stage)
    alarmed = {
        a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in of_type(doc, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
        and a["Properties"]["Threshold"] == 1
        and a["Properties"]["AlarmActions"]
    }
    assert alarmed == set(of_type(doc, "AWS::SQS::Queue"))


def test_the_chalice_config_holds_no_placeholder() -> None:
    assert "REPLACE_WITH" not in (REPO / ".chalice" / "config.json").read_text()
