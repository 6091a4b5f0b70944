"""Shared helpers of the infrastructure tests: the synthesized templates, their SAM expansion, and moto deployments.

A deployment to moto is what `cdk deploy` does, offline: the assets are published to the bootstrap bucket, the SAM
transform is expanded (CloudFormation's job; aws-sam-translator here), and the stack is created by moto's
CloudFormation. Resource types moto cannot create are replaced by stand-ins (custom resources this module answers,
with the attributes the template reads), so everything that refers to them still resolves and every type moto does
create is really created. The CDK's own custom resources are answered here too, as their Lambda functions would.
"""

from __future__ import annotations

import copy
import functools
import io
import json
import os
import secrets
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

REPO = Path(__file__).resolve().parents[2]
OUT_DIR = REPO / "infra" / "out"
STAGES = ("dev", "prod")
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
FAKE_IOT_ENDPOINT = "a1b2c3d4e5f6g7-ats.iot.us-east-1.amazonaws.com"
BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"

# Types moto 5.2.5's CloudFormation cannot create, or creates so that the stack fails; each becomes a stand-in.
MOTO_GAPS = {
    "AWS::ApiGateway::RestApi": "moto ignores Body, and its importer takes OpenAPI 3 only (Chalice writes Swagger 2.0)",
    "AWS::ApiGateway::Deployment": "needs the RestApi's methods, which moto never created",
    "AWS::ApiGateway::Stage": "not supported by moto's CloudFormation",
    "AWS::CloudFront::Distribution": "not supported by moto's CloudFormation",
    "AWS::CloudFront::Function": "not supported by moto's CloudFormation",
    "AWS::CloudFront::OriginAccessControl": "not supported by moto's CloudFormation",
    "AWS::CloudFront::ResponseHeadersPolicy": "not supported by moto's CloudFormation",
    "AWS::CloudWatch::Alarm": "not supported by moto's CloudFormation",
    "AWS::Cognito::UserPool": "not supported by moto's CloudFormation",
    "AWS::Cognito::UserPoolClient": "not supported by moto's CloudFormation",
    "AWS::Cognito::UserPoolGroup": "not supported by moto's CloudFormation",
    "AWS::IoT::Authorizer": "not supported by moto's CloudFormation",
    "AWS::Lambda::EventInvokeConfig": "not supported by moto's CloudFormation",
    "AWS::S3::BucketPolicy": "not supported by moto's CloudFormation",
    "AWS::SNS::TopicPolicy": "not supported by moto's CloudFormation",
    "AWS::SQS::QueuePolicy": "not supported by moto's CloudFormation",
}
STAND_IN = "Custom::MotoStandIn"


class NotSynthesized(RuntimeError):
    pass


def template_path(stage: str) -> Path:
    path = OUT_DIR / f"{stage}.template.json"
    if not path.is_file():
        raise NotSynthesized(f"{path} is missing: run `make synth` first (`make test` does)")
    return path


@functools.cache
def _template_text(stage: str) -> str:
    return template_path(stage).read_text()


def template(stage: str) -> dict[str, Any]:
    """The synthesized template, as the deploy sends it to CloudFormation."""
    parsed: dict[str, Any] = json.loads(_template_text(stage))
    return parsed


@functools.cache
def _expanded_text(stage: str) -> str:
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        """SAM looks managed policies up only for a function's `Policies`; ours have roles instead."""

        def load(self) -> dict[str, str]:
            return {}

    with _environment(AWS_DEFAULT_REGION=REGION, AWS_REGION=REGION):
        return json.dumps(transform(template(stage), {}, NoManagedPolicies()))  # type: ignore[arg-type]


def expanded(stage: str) -> dict[str, Any]:
    """The template after the SAM transform: what CloudFormation creates."""
    parsed: dict[str, Any] = json.loads(_expanded_text(stage))
    return parsed


def of_type(doc: Mapping[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in doc["Resources"].items() if r["Type"] == resource_type}


def assets(stage: str) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((OUT_DIR / f"{stage}.assets.json").read_text())
    return manifest


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# ----- moto --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomResourceCall:
    resource_type: str  # for a stand-in, the type it stands in for
    logical_id: str
    properties: dict[str, Any]


@dataclass
class Deployment:
    stage: str
    stack_name: str
    status: str
    outputs: dict[str, str]
    stood_in: dict[str, str]  # logical id -> the type moto could not create
    custom_resources: list[CustomResourceCall] = field(default_factory=list)

    def custom(self, resource_type: str) -> list[CustomResourceCall]:
        return [call for call in self.custom_resources if call.resource_type == resource_type]


class MotoCloud:
    """moto's server mode in this process, and the stacks deployed to it."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self._published: set[tuple[str, str]] = set()
        self.client("ssm").put_parameter(Name=BOOTSTRAP_VERSION_PARAMETER, Value="30", Type="String")

    def client(self, service: str) -> Any:
        import boto3

        # Credentials of its own: nothing here reads or changes the process's AWS environment.
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def stop(self) -> None:
        self._server.stop()

    def deploy(self, stage: str) -> Deployment:
        from moto.cloudformation.custom_model import CustomModel

        self._publish_assets(stage)
        body, stood_in = with_stand_ins(expanded(stage))
        calls: list[CustomResourceCall] = []

        def create(cls: Any, resource_name: str, cloudformation_json: dict[str, Any], *_: str, **kw: Any) -> Any:
            properties = cloudformation_json["Properties"]
            resource_type = properties.get("StandInFor", kw["ResourceType"])
            physical_id = _physical_id(resource_type, properties, resource_name)
            resource = CustomModel(REGION, "request", kw["LogicalId"], physical_id)
            resource.set_data(_attributes(resource_type, properties, physical_id))
            calls.append(CustomResourceCall(resource_type, kw["LogicalId"], properties))
            return resource

        stack_name = json.loads((OUT_DIR / "manifest.json").read_text())["artifacts"][stage]["properties"]["stackName"]
        cloudformation = self.client("cloudformation")
        with mock.patch.object(CustomModel, "create_from_cloudformation_json", classmethod(create)):
            cloudformation.create_stack(
                StackName=stack_name,
                TemplateBody=json.dumps(body),
                Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
            )
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
        deployment = Deployment(
            stage=stage,
            stack_name=stack_name,
            status=stack["StackStatus"],
            outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
            stood_in=stood_in,
            custom_resources=calls,
        )
        for call in deployment.custom("Custom::CDKBucketDeployment"):
            self._bucket_deployment(call.properties)
        return deployment

    def _publish_assets(self, stage: str) -> None:
        """What `cdk deploy` publishes before it deploys: every file asset into the bootstrap bucket."""
        s3 = self.client("s3")
        for asset in assets(stage)["files"].values():
            source = OUT_DIR / asset["source"]["path"]
            for destination in asset["destinations"].values():
                bucket = _substitute(destination["bucketName"])
                key = destination["objectKey"]
                if (bucket, key) in self._published:
                    continue
                if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
                    s3.create_bucket(Bucket=bucket)
                body = _zip_directory(source) if source.is_dir() else source.read_bytes()
                s3.put_object(Bucket=bucket, Key=key, Body=body)
                self._published.add((bucket, key))

    def _bucket_deployment(self, properties: Mapping[str, Any]) -> None:
        """What the CDK's BucketDeployment function does: unzip each source, fill its markers, upload."""
        s3 = self.client("s3")
        prefix = properties.get("DestinationBucketKeyPrefix", "")
        metadata = properties.get("SystemMetadata", {})
        markers = properties.get("SourceMarkers") or [{} for _ in properties["SourceObjectKeys"]]
        for bucket, key, source_markers in zip(
            properties["SourceBucketNames"], properties["SourceObjectKeys"], markers, strict=True
        ):
            archive = zipfile.ZipFile(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
            for name in archive.namelist():
                content = archive.read(name)
                for marker, value in source_markers.items():
                    content = content.replace(marker.encode(), value.encode())
                extra = {"CacheControl": metadata["cache-control"]} if "cache-control" in metadata else {}
                s3.put_object(Bucket=properties["DestinationBucketName"], Key=prefix + name, Body=content, **extra)


def with_stand_ins(doc: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    body = copy.deepcopy(doc)
    stood_in: dict[str, str] = {}
    for logical_id, resource in body["Resources"].items():
        if resource["Type"] in MOTO_GAPS:
            stood_in[logical_id] = resource["Type"]
            resource["Properties"] = {
                "ServiceToken": "moto-stand-in",
                "StandInFor": resource["Type"],
                **resource.get("Properties", {}),
            }
            resource["Type"] = STAND_IN
    return body, stood_in


def _physical_id(resource_type: str, properties: Mapping[str, Any], default: str) -> str:
    """What `Ref` returns for the types stood in for, shaped as AWS shapes it."""
    if resource_type == "AWS::IoT::Authorizer":
        return str(properties["AuthorizerName"])
    if resource_type == "AWS::Cognito::UserPool":
        return f"{REGION}_{secrets.token_hex(5)}"
    if resource_type == "AWS::Cognito::UserPoolClient":
        return secrets.token_hex(13)
    if resource_type == "AWS::ApiGateway::RestApi":
        return secrets.token_hex(5)
    return default


def _attributes(resource_type: str, properties: Mapping[str, Any], physical_id: str) -> dict[str, str]:
    """The `Fn::GetAtt` attributes the template reads of each custom resource or stand-in."""
    if resource_type == "Custom::AWS":
        call = json.loads(properties["Create"])
        if (call["service"], call["action"]) == ("Iot", "describeEndpoint"):
            return {"endpointAddress": FAKE_IOT_ENDPOINT}
        return {}
    if resource_type == "AWS::Cognito::UserPool":
        return {
            "ProviderURL": f"https://cognito-idp.{REGION}.amazonaws.com/{physical_id}",
            "ProviderName": f"cognito-idp.{REGION}.amazonaws.com/{physical_id}",
            "Arn": f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{physical_id}",
        }
    if resource_type == "AWS::CloudFront::Distribution":
        return {"DomainName": f"d{secrets.token_hex(6)}.cloudfront.net", "Id": physical_id}
    if resource_type == "AWS::IoT::Authorizer":
        return {"Arn": f"arn:aws:iot:{REGION}:{ACCOUNT}:authorizer/{physical_id}"}
    if resource_type == "AWS::ApiGateway::RestApi":
        return {"RootResourceId": secrets.token_hex(5)}
    return {}


def _substitute(text: str) -> str:
    for name, value in (("AccountId", ACCOUNT), ("Region", REGION), ("Partition", "aws")):
        text = text.replace(f"${{AWS::{name}}}", value)
    return text


def _zip_directory(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()
