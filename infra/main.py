"""Synthesizes every stage's stack into infra/out, offline: `python -m infra.main` (what `make synth` runs).

Nothing here asks AWS anything: the stacks are environment-agnostic and Chalice only packages. A synth whose inputs
(the app, the workflow, the built apps, this code and the pinned versions) have not changed since the last one is
skipped, so `make test` pays for it only when something changed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from infra.chalice_app import PROJECT_DIR

if TYPE_CHECKING:
    from aws_cdk import App

OUT_DIR = PROJECT_DIR / "infra" / "out"
DIGEST_FILE = OUT_DIR / ".inputs.sha256"
INPUTS = (
    "app.py",
    "chalicelib",
    "statemachine.json",
    ".chalice/config.json",
    "requirements.txt",
    "requirements-infra.txt",
    "infra",
    "web/dist",
)
# Not inputs: the output itself, the construct's scratch space, bytecode, and the evidence (read by tests only).
_IGNORED = ("infra/out", "infra/.build", "infra/aws-calls.json")


def build(out_dir: Path = OUT_DIR, alarm_email: str | None = None) -> App:
    # Imported here: starting aws-cdk-lib's runtime costs a second or two, which an up-to-date check need not pay.
    from aws_cdk import App

    from infra.stack import ServerlesspressoStack
    from infra.stages import STAGES

    # No version reporting: the templates hold only the shop's resources.
    app = App(outdir=str(out_dir), analytics_reporting=False)
    for stage in STAGES:
        # No account or region: the stacks are environment-agnostic, so synth asks AWS nothing.
        ServerlesspressoStack(app, stage, alarm_email=alarm_email)
    return app


def inputs_digest(alarm_email: str | None) -> str:
    digest = hashlib.sha256(f"alarm_email={alarm_email or ''}\n".encode())
    for path in _input_files():
        digest.update(f"{path.relative_to(PROJECT_DIR)}\n".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _input_files() -> Iterator[Path]:
    for name in INPUTS:
        root = PROJECT_DIR / name
        candidates = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in candidates:
            relative = path.relative_to(PROJECT_DIR).as_posix()
            if "__pycache__" in path.parts or any(relative.startswith(ignored) for ignored in _IGNORED):
                continue
            yield path


# Synth must never reach an account: any call would fail with these instead of using the caller's credentials.
# Chalice still asks botocore for a region (it picks service principals' domain by partition); every commercial
# region gives the same answer, and the templates themselves name none.
OFFLINE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "synth-offline",
    "AWS_SECRET_ACCESS_KEY": "synth-offline",
    "AWS_SESSION_TOKEN": "synth-offline",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def main(argv: list[str] | None = None) -> None:
    os.environ.pop("AWS_PROFILE", None)
    os.environ.update(OFFLINE_ENVIRONMENT)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="synthesize even if no input changed")
    args = parser.parse_args(argv)
    alarm_email = os.environ.get("ALARM_EMAIL") or None
    if not (PROJECT_DIR / "web" / "dist" / "index.html").is_file():
        raise SystemExit("error: the apps are not built (web/dist): run `make web` first")
    digest = inputs_digest(alarm_email)
    if not args.force and DIGEST_FILE.is_file() and DIGEST_FILE.read_text().strip() == digest:
        print(f"{OUT_DIR.relative_to(PROJECT_DIR)} is up to date")
        return
    # A clean directory: a stage or an asset that is gone must not linger for the deploy or the tests to find.
    from infra.backend import clean_build_dir

    shutil.rmtree(OUT_DIR, ignore_errors=True)
    clean_build_dir()
    assembly = build(alarm_email=alarm_email).synth()
    clean_build_dir()
    # The CDK CLI would print these; `app.synth()` only records them in the assembly.
    errors = 0
    for stack in assembly.stacks:
        for message in stack.messages:
            print(f"{message.level.value}: {message.id}: {message.entry.data}", file=sys.stderr)
            errors += message.level.value == "error"
    if errors:
        raise SystemExit(f"error: {errors} synthesis error(s) above")
    DIGEST_FILE.write_text(digest + "\n")
    templates = sorted(p.name for p in OUT_DIR.glob("*.template.json"))
    print(f"synthesized {', '.join(templates)} into {OUT_DIR.relative_to(PROJECT_DIR)}")


if __name__ == "__main__":
    main()
