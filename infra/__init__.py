"""The shop on AWS as code (AWS CDK v2 in Python): one CloudFormation stack per stage, synthesized by `make synth`."""

import os

# jsii (aws-cdk-lib's runtime) prints a banner on every run under Node 20, which this project's machines have and
# which works; docs/deploy.md recommends Node 22 or later.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
