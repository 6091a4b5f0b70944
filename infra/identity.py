"""People: a Cognito user pool with passwordless sign-in by phone, the apps' client and the `admin` group."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.function_logs import function_log_group
from infra.stages import Stage

ADMIN_GROUP = "admin"  # web/src/shared/auth.ts ADMIN_GROUP, chalicelib's admin checks
PRE_SIGN_UP_SOURCE = Path(__file__).resolve().parent / "functions" / "pre_sign_up"
# As the local sign-in (docs/decisions.md, "Tokens as Cognito issues them"): an hour's ID token, refreshed for 30 days.
ID_TOKEN_VALIDITY = Duration.hours(1)
REFRESH_TOKEN_VALIDITY = Duration.days(30)


@dataclass(frozen=True)
class Identity:
    user_pool: cognito.UserPool
    client: cognito.UserPoolClient

    @property
    def issuer(self) -> str:
        """`https://cognito-idp.<region>.amazonaws.com/<pool id>`: the ID tokens' `iss`."""
        return self.user_pool.user_pool_provider_url

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/.well-known/jwks.json"


def people(scope: Construct, stage: Stage) -> Identity:
    user_pool = cognito.UserPool(
        scope,
        "Users",
        user_pool_name=stage.resource_name("users"),
        # Customers sign up on the spot, with their phone number as the username.
        self_sign_up_enabled=True,
        sign_in_aliases=cognito.SignInAliases(phone=True, username=False, email=False),
        standard_attributes=cognito.StandardAttributes(
            phone_number=cognito.StandardAttribute(required=True, mutable=True)
        ),
        # Choice-based sign-in (USER_AUTH): a code by SMS (what the apps use) or by email. CloudFormation requires
        # PASSWORD in the list; nobody is ever given a password.
        feature_plan=cognito.FeaturePlan.ESSENTIALS,
        sign_in_policy=cognito.SignInPolicy(
            allowed_first_auth_factors=cognito.AllowedFirstAuthFactors(password=True, sms_otp=True, email_otp=True)
        ),
        mfa=cognito.Mfa.OFF,
        account_recovery=cognito.AccountRecovery.NONE,
        lambda_triggers=cognito.UserPoolTriggers(pre_sign_up=_pre_sign_up(scope, stage)),
        deletion_protection=stage.keeps_data,
        removal_policy=stage.data_removal_policy,
    )
    client = user_pool.add_client(
        "Apps",
        user_pool_client_name=stage.resource_name("apps"),
        auth_flows=cognito.AuthFlow(user=True),
        generate_secret=False,  # a browser cannot keep a secret
        prevent_user_existence_errors=True,
        enable_token_revocation=True,
        id_token_validity=ID_TOKEN_VALIDITY,
        access_token_validity=ID_TOKEN_VALIDITY,
        refresh_token_validity=REFRESH_TOKEN_VALIDITY,
        disable_o_auth=True,
    )
    user_pool.add_group("AdminGroup", group_name=ADMIN_GROUP, description="Baristas and the display")
    return Identity(user_pool=user_pool, client=client)


def _pre_sign_up(scope: Construct, stage: Stage) -> lambda_.Function:
    name = stage.resource_name("pre_sign_up")
    log_group, write_logs = function_log_group(scope, "PreSignUpLogs", name)
    role = iam.Role(
        scope,
        "PreSignUpRole",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        inline_policies={"logs": iam.PolicyDocument(statements=[write_logs])},
    )
    return lambda_.Function(
        scope,
        "PreSignUp",
        function_name=name,
        runtime=lambda_.Runtime.PYTHON_3_11,
        handler="pre_sign_up.handler",
        code=lambda_.Code.from_asset(str(PRE_SIGN_UP_SOURCE), exclude=["__pycache__", "*.pyc"]),
        memory_size=128,
        timeout=Duration.seconds(5),
        role=role,
        log_group=log_group,
    )
