"""Cold start of the IoT Core custom authorizer Lambda, measured locally in fresh interpreters.

IoT Core gives a custom authorizer 5 seconds. A cold start is the import of the handler's module (Lambda imports
the module of the function's handler string: for a Chalice blueprint that is the blueprint's module, not app.py)
and the first invocation, which fetches the signing keys and verifies a real RS256 ID token.

By default every run happens in a Chalice-shaped deployment package built in a temporary directory: app.py,
chalicelib/, Chalice's two runtime files and the distributions requirements.txt names (copied from this venv),
without bytecode. `chalice package` extracts wheels as they are and Lambda's /var/task is read-only, so on AWS
every cold start compiles our modules and our dependencies from source; the package has no awscrt, moto or
anything else only the local runtime uses. The interpreter runs isolated (-I -S -B): this package and the
standard library (with its bytecode, as Lambda's runtime has), nothing else. The keys are served over HTTP on
loopback, so the first call goes through JwksUrlKeys as it does against Cognito (whose HTTPS round trip, a few
tens of milliseconds in-region, is not in these figures).

    python bench/authorizer_cold_start.py                 # 10 runs of the authorizer's handler
    python bench/authorizer_cold_start.py --import app    # the same, importing app.py first (the API's path)
    python bench/authorizer_cold_start.py --bytecode      # the package with .pyc files (compileall)
    python bench/authorizer_cold_start.py --venv          # this venv instead of a package (bytecode, awscrt...)
    python bench/authorizer_cold_start.py --importtime 15 # and the 15 costliest imports of one more run
"""

from __future__ import annotations

import argparse
import base64
import compileall
import http.server
import importlib.metadata
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from serverlesspresso.identity import AUDIENCE, ISSUER, LocalIdentityProvider  # noqa: E402

# What the authorizer must not need: the AWS SDK, the table's ORM, GraphQL.
HEAVY = ("boto3", "botocore", "pynamodb", "strawberry", "graphql", "awscrt")

# Runs in the fresh interpreter: import the handler's module as Lambda's runtime does, then invoke it once.
CHILD = r"""
import importlib, json, sys, time
started = time.perf_counter()
for name in PRELOAD:
    importlib.import_module(name)
module_name, _, function_name = HANDLER.rpartition(".")
handler = getattr(importlib.import_module(module_name), function_name)
imported = time.perf_counter()

class Context:
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:serverlesspresso-dev-iot_authorizer"

answer = handler(EVENT, Context())
called = time.perf_counter()
assert answer["isAuthenticated"] is True, answer
print(json.dumps({
    "import_ms": (imported - started) * 1000,
    "call_ms": (called - imported) * 1000,
    "modules": len(sys.modules),
    "heavy": sorted({name.split(".")[0] for name in sys.modules} & set(HEAVY)),
    # VmHWM, not ru_maxrss: a forked child's ru_maxrss starts at its parent's (this benchmark's) peak.
    "max_rss_mb": int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024,
}))
"""


def authorizer_handler() -> str:
    """The handler string Chalice deploys for the authorizer (from the app, so a move of the function shows)."""
    from app import app

    (function,) = [f for f in app.pure_lambda_functions if f.name == "iot_authorizer"]
    return str(function.handler_string)


def runtime_distributions() -> list[importlib.metadata.Distribution]:
    """requirements.txt and everything it requires on this Python, as installed here."""
    pending = [
        Requirement(line.split("#")[0].strip())
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    seen: dict[str, importlib.metadata.Distribution] = {}
    while pending:
        requirement = pending.pop()
        key = requirement.name.lower().replace("_", "-")
        if key in seen:
            continue
        distribution = importlib.metadata.distribution(requirement.name)
        seen[key] = distribution
        for text in distribution.requires or []:
            nested = Requirement(text)
            extras = requirement.extras or {""}
            if nested.marker is None or any(nested.marker.evaluate({"extra": extra}) for extra in extras):
                pending.append(nested)
    return list(seen.values())


def build_package(target: Path) -> None:
    """A deployment package as `chalice package` lays it out, without bytecode."""
    import chalice
    import chalice.app

    for distribution in runtime_distributions():
        for file in distribution.files or []:
            if file.suffix == ".pyc" or "__pycache__" in file.parts or ".." in file.parts:
                continue
            source = Path(str(distribution.locate_file(file)))
            if source.is_file():
                (target / file).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target / file)
    (target / "chalice").mkdir()
    shutil.copyfile(chalice.app.__file__, target / "chalice" / "app.py")
    shutil.copyfile(chalice.__file__, target / "chalice" / "__init__.py")
    shutil.copyfile(ROOT / "app.py", target / "app.py")
    shutil.copytree(ROOT / "chalicelib", target / "chalicelib", ignore=shutil.ignore_patterns("__pycache__"))


class KeysServer:
    """Serves the local identity provider's JWKS on loopback, standing in for Cognito's."""

    def __init__(self, jwks: bytes) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(jwks)))
                self.end_headers()
                self.wfile.write(jwks)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/.well-known/jwks.json"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> KeysServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def child_source(handler: str, preload: list[str], token: str) -> str:
    event = {
        "protocols": ["tls", "mqtt"],
        "protocolData": {
            "tls": {"serverName": "example-ats.iot.eu-west-1.amazonaws.com"},
            "mqtt": {
                "username": "web?x-amz-customauthorizer-name=serverlesspresso-dev",
                "password": base64.b64encode(token.encode()).decode(),
                "clientId": "sp-web-0123456789",
            },
        },
        "signatureVerified": False,
        "connectionMetadata": {"id": "c0ffee00-0000-4000-8000-000000000000"},
    }
    constants = f"HANDLER = {handler!r}\nPRELOAD = {preload!r}\nEVENT = {event!r}\nHEAVY = {HEAVY!r}\n"
    return constants + CHILD


def run_once(command: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    wall_ms = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise SystemExit(f"the authorizer failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_ms"] = wall_ms
    result["stderr"] = done.stderr
    return result


def describe(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered):7.1f}  p90 {p90:7.1f}  min {ordered[0]:7.1f}  max {ordered[-1]:7.1f}"


def top_imports(stderr: str, count: int) -> list[str]:
    rows = []
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            _, cumulative, name = line.removeprefix("import time:").split("|")
            rows.append((int(cumulative), name.rstrip()))
    return [f"{us / 1000:8.1f} ms  {name}" for us, name in sorted(rows, reverse=True)[:count]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="fresh interpreters (default: 10)")
    parser.add_argument(
        "--import", dest="preload", action="append", default=[], help="modules to import before the handler's"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--bytecode", action="store_true", help="compile the package first (.pyc, as if shipped)")
    where.add_argument("--venv", action="store_true", help="run in this venv (bytecode cached, local extras)")
    parser.add_argument("--importtime", type=int, default=0, metavar="N", help="show one run's N costliest imports")
    parser.add_argument("--json", action="store_true", help="print the runs as JSON")
    args = parser.parse_args(argv)

    handler = authorizer_handler()
    with tempfile.TemporaryDirectory(prefix="authorizer-cold-") as temp:
        temp_dir = Path(temp)
        identity = LocalIdentityProvider(temp_dir / "data")
        identity.ensure_keys()
        token = identity.issue("bench-alice", ttl_seconds=3600)
        with KeysServer(identity.jwks_path.read_bytes()) as keys:
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "AWS_REGION": "eu-west-1",
                "AWS_DEFAULT_REGION": "eu-west-1",
                "JWKS_URL": keys.url,
                "JWT_ISSUER": ISSUER,
                "JWT_AUDIENCE": AUDIENCE,
                "TABLE_NAME": "serverlesspresso-bench",
            }
            source = child_source(handler, args.preload, token)
            if args.venv:
                cwd, command = ROOT, [sys.executable, "-c", source]
                where_label = f"this venv ({sys.executable})"
            else:
                cwd = temp_dir / "package"
                cwd.mkdir()
                build_package(cwd)
                if args.bytecode:
                    compileall.compile_dir(cwd, quiet=1)
                base = str(Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}")
                # -I -S: only the package and the standard library; -B: stay cold, run after run.
                command = [base, "-I", "-S", "-B", "-c", f"import sys; sys.path.insert(0, {str(cwd)!r})\n{source}"]
                where_label = "a Chalice-shaped package " + ("with bytecode" if args.bytecode else "without bytecode")
            runs = [run_once(command, env, cwd) for _ in range(args.runs)]
            profile = run_once([*command[:1], "-X", "importtime", *command[1:]], env, cwd) if args.importtime else None

    if args.json:
        print(json.dumps({"handler": handler, "where": where_label, "runs": runs}, indent=2, default=str))
        return 0
    print(f"handler {handler}" + (f" (after importing {', '.join(args.preload)})" if args.preload else ""))
    print(f"in {where_label}; {args.runs} fresh interpreters; times in ms")
    print(f"  import      {describe([r['import_ms'] for r in runs])}")
    print(f"  first call  {describe([r['call_ms'] for r in runs])}")
    print(f"  both        {describe([r['import_ms'] + r['call_ms'] for r in runs])}")
    print(f"  process     {describe([r['wall_ms'] for r in runs])}   (interpreter start to exit)")
    print(f"  modules {runs[0]['modules']}, peak RSS {max(r['max_rss_mb'] for r in runs):.0f} MB")
    print(f"  heavy modules loaded: {', '.join(runs[0]['heavy']) or 'none'}")
    if profile is not None:
        print(f"the {args.importtime} costliest imports (cumulative, one run with -X importtime):")
        for line in top_imports(profile["stderr"], args.importtime):
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
