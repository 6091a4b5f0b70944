"""The deploy's two helpers around the CDK CLI: `check STAGE` before it (credentials, region), `summary STAGE` after."""

from __future__ import annotations

import argparse
import json
import sys

from infra.chalice_app import PROJECT_DIR
from infra.stages import stage_named

OUT_DIR = PROJECT_DIR / "infra" / "out"


def outputs_file(stage_name: str) -> str:
    return f"infra/out/{stage_name}.outputs.json"


def check(stage_name: str) -> int:
    """Exit non-zero, saying what to do, unless there are credentials and a region to deploy with."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    stage = stage_named(stage_name)
    session = boto3.Session()
    if session.region_name is None:
        print("error: no AWS region: export AWS_REGION=eu-west-1 (or set one in your profile)", file=sys.stderr)
        return 1
    try:
        identity = session.client("sts").get_caller_identity()
    except (BotoCoreError, ClientError) as error:
        print(
            f"error: no usable AWS credentials ({error}).\n"
            "  Configure some (aws configure, aws sso login, AWS_PROFILE=..., or AWS_ACCESS_KEY_ID and\n"
            "  AWS_SECRET_ACCESS_KEY), then run this again. docs/deploy.md lists what the account needs.",
            file=sys.stderr,
        )
        return 1
    print(f"{stage.stack_name}: account {identity['Account']}, region {session.region_name} ({identity['Arn']})")
    return 0


def summary(stage_name: str) -> int:
    stage = stage_named(stage_name)
    outputs = json.loads((PROJECT_DIR / outputs_file(stage_name)).read_text())[stage.stack_name]
    print(
        f"""
Serverlesspresso ({stage.name}) is deployed
  Order app  {outputs["OrderAppUrl"]}   (phones; the display's QR code opens it)
  Display    {outputs["DisplayUrl"]}
  Barista    {outputs["BaristaUrl"]}
  API        {outputs["ApiUrl"]}   (REST and /graphql)

Next (docs/deploy.md): sign in once on the barista app with your phone number, then make yourself an admin:
  aws cognito-idp admin-add-user-to-group --user-pool-id {outputs["UserPoolId"]} \\
      --username <your phone, e.g. +34600000001> --group-name admin
and create the shop the apps open (POST /shops with your ID token), then press Open store."""
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("check", "summary"))
    parser.add_argument("stage")
    args = parser.parse_args(argv)
    return check(args.stage) if args.command == "check" else summary(args.stage)


if __name__ == "__main__":
    sys.exit(main())
