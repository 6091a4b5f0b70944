"""The apps on AWS: web/dist on a private bucket behind CloudFront, its /config.json written from the stack's
outputs, and the API behind a second distribution that adds CORS for the apps' origin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from constructs import Construct

from infra.chalice_app import PROJECT_DIR
from infra.stages import Stage

WEB_DIST = PROJECT_DIR / "web" / "dist"
CONFIG_KEY = "config.json"
# The apps' pages at clean paths, as `serverlesspresso up` serves them (serverlesspresso/webapps.py APP_PAGES).
APP_PAGES = {"/order": "/order.html", "/barista": "/barista.html", "/display": "/display.html"}
API_STAGE_PATH = "/api"  # .chalice/config.json api_gateway_stage
CORS_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "OPTIONS")
CORS_HEADERS = ("Authorization", "Content-Type")
CORS_MAX_AGE = Duration.minutes(10)


@dataclass(frozen=True)
class Hosting:
    bucket: s3.Bucket
    apps: cloudfront.Distribution
    api: cloudfront.Distribution

    @property
    def apps_url(self) -> str:
        return f"https://{self.apps.distribution_domain_name}"

    @property
    def api_url(self) -> str:
        return f"https://{self.api.distribution_domain_name}"


def apps_distribution(scope: Construct, stage: Stage) -> tuple[s3.Bucket, cloudfront.Distribution]:
    bucket = s3.Bucket(
        scope,
        "WebBucket",
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        # Everything in it is built from the repository: deleting the stack deletes it.
        removal_policy=RemovalPolicy.DESTROY,
        auto_delete_objects=True,
    )
    clean_paths = cloudfront.Function(
        scope,
        "AppPages",
        function_name=stage.resource_name("app-pages"),
        comment="/order, /barista and /display are the apps' HTML entries",
        runtime=cloudfront.FunctionRuntime.JS_2_0,
        code=cloudfront.FunctionCode.from_inline(_app_pages_function()),
    )
    distribution = cloudfront.Distribution(
        scope,
        "Apps",
        comment=f"{stage.stack_name} apps",
        default_root_object="index.html",
        price_class=cloudfront.PriceClass.PRICE_CLASS_100,
        http_version=cloudfront.HttpVersion.HTTP2_AND_3,
        default_behavior=cloudfront.BehaviorOptions(
            origin=origins.S3BucketOrigin.with_origin_access_control(bucket),
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
            cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
            response_headers_policy=cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
            function_associations=[
                cloudfront.FunctionAssociation(
                    function=clean_paths, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
                )
            ],
        ),
    )
    return bucket, distribution


def api_distribution(scope: Construct, stage: Stage, rest_api_id: str, apps_origin: str) -> cloudfront.Distribution:
    """The REST/GraphQL API on the apps' terms: CORS for their origin, added at the edge.

    The app sets no CORS headers (and must not change for the deploy), and API Gateway cannot add headers to a Lambda
    proxy integration's responses, so CloudFront adds them, and answers the preflight, which API Gateway would refuse.
    """
    cors = cloudfront.ResponseHeadersPolicy(
        scope,
        "ApiCors",
        response_headers_policy_name=stage.resource_name("api-cors"),
        cors_behavior=cloudfront.ResponseHeadersCorsBehavior(
            access_control_allow_credentials=False,  # the apps send a bearer token, never cookies
            access_control_allow_headers=list(CORS_HEADERS),
            access_control_allow_methods=list(CORS_METHODS),
            access_control_allow_origins=[apps_origin],
            access_control_max_age=CORS_MAX_AGE,
            origin_override=True,
        ),
    )
    preflight = cloudfront.Function(
        scope,
        "ApiPreflight",
        function_name=stage.resource_name("api-preflight"),
        comment="Answers the apps' CORS preflight at the edge",
        runtime=cloudfront.FunctionRuntime.JS_2_0,
        code=cloudfront.FunctionCode.from_inline(_preflight_function(apps_origin)),
    )
    rest_api_domain = f"{rest_api_id}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}"
    return cloudfront.Distribution(
        scope,
        "Api",
        comment=f"{stage.stack_name} API",
        price_class=cloudfront.PriceClass.PRICE_CLASS_100,
        http_version=cloudfront.HttpVersion.HTTP2_AND_3,
        default_behavior=cloudfront.BehaviorOptions(
            origin=origins.HttpOrigin(rest_api_domain, origin_path=API_STAGE_PATH),
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
            # Nothing is cached; with caching off, this policy forwards Authorization (but not Host, which API
            # Gateway would refuse).
            cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
            origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
            response_headers_policy=cors,
            function_associations=[
                cloudfront.FunctionAssociation(
                    function=preflight, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
                )
            ],
        ),
    )


def deploy_apps(scope: Construct, bucket: s3.IBucket, config: dict[str, Any]) -> None:
    """web/dist and its /config.json. Hashed assets never change under their name; pages and config are revalidated."""
    s3_deployment.BucketDeployment(
        scope,
        "AppAssets",
        destination_bucket=bucket,
        destination_key_prefix="assets/",
        sources=[s3_deployment.Source.asset(str(WEB_DIST / "assets"))],
        cache_control=[s3_deployment.CacheControl.from_string("public, max-age=31536000, immutable")],
        # Old assets stay for pages a browser loaded before this deploy.
        prune=False,
    )
    s3_deployment.BucketDeployment(
        scope,
        "AppPagesAndConfig",
        destination_bucket=bucket,
        sources=[
            s3_deployment.Source.asset(str(WEB_DIST), exclude=["assets", "assets/*"]),
            s3_deployment.Source.json_data(CONFIG_KEY, config),
        ],
        cache_control=[s3_deployment.CacheControl.no_cache()],
        prune=False,  # would delete assets/, which the other deployment owns
    )


def _app_pages_function() -> str:
    pages = ", ".join(f"'{path}': '{page}'" for path, page in APP_PAGES.items())
    return f"""var PAGES = {{{pages}}};
function handler(event) {{
  var request = event.request;
  var page = PAGES[request.uri.replace(/\\/+$/, '')];
  if (page) request.uri = page;
  return request;
}}"""


def _preflight_function(apps_origin: str) -> str:
    methods = ", ".join(CORS_METHODS)
    headers = ", ".join(CORS_HEADERS)
    max_age = int(CORS_MAX_AGE.to_seconds())
    return f"""var ALLOWED_ORIGIN = '{apps_origin}';
function handler(event) {{
  var request = event.request;
  if (request.method !== 'OPTIONS') return request;
  var origin = request.headers.origin ? request.headers.origin.value : '';
  var headers = {{ vary: {{ value: 'Origin' }} }};
  if (origin === ALLOWED_ORIGIN) {{
    headers['access-control-allow-origin'] = {{ value: origin }};
    headers['access-control-allow-methods'] = {{ value: '{methods}' }};
    headers['access-control-allow-headers'] = {{ value: '{headers}' }};
    headers['access-control-max-age'] = {{ value: '{max_age}' }};
  }}
  return {{ statusCode: 204, statusDescription: 'No Content', headers: headers }};
}}"""
