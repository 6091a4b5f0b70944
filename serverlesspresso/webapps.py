"""Serves the built web apps (`web/dist`) and their runtime config from the local runtime's HTTP port."""

from __future__ import annotations

import gzip
import json
import mimetypes
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serverlesspresso.server import LocalRequest, LocalResponse, LocalRoute

CONFIG_PATH = "/config.json"
# Each app is one HTML entry of the Vite build, served at a clean path.
APP_PAGES = {"/": "index.html", "/display": "display.html", "/barista": "barista.html", "/order": "order.html"}
_NOT_BUILT = """<!doctype html><html lang="en"><meta charset="utf-8"><title>Apps not built</title>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>The web apps are not built</h1><p>Run <code>make web</code> (or <code>make run</code>, which builds them)
and reload this page.</p><p>Looked in <code>{dist}</code>.</p></body></html>"""


def config_route(config: Mapping[str, Any]) -> LocalRoute:
    body = json.dumps(config, indent=2).encode()

    def handle(request: LocalRequest) -> LocalResponse:
        return LocalResponse(200, body, {"Content-Type": "application/json", "Cache-Control": "no-cache"})

    return LocalRoute(lambda method, path: path == CONFIG_PATH and method in ("GET", "HEAD"), handle)


def web_route(dist: Path) -> LocalRoute:
    """GET the apps' pages and hashed assets; anything else falls through to the API."""
    root = dist.resolve()

    def page_for(path: str) -> str | None:
        return APP_PAGES.get(path.rstrip("/") or "/")

    def matches(method: str, path: str) -> bool:
        if method not in ("GET", "HEAD"):
            return False
        return page_for(path) is not None or path.startswith("/assets/") or _is_root_file(root, path)

    def handle(request: LocalRequest) -> LocalResponse:
        page = page_for(request.path)
        if page is not None:
            file = root / page
            if not file.is_file():
                html = _NOT_BUILT.format(dist=root).encode()
                return LocalResponse(503, html, {"Content-Type": "text/html; charset=utf-8"})
            return _file(file, "no-cache")
        file = (root / request.path.lstrip("/")).resolve()
        if not file.is_relative_to(root) or not file.is_file():
            return LocalResponse.json(404, {"error": {"code": "not_found", "message": "no such file"}})
        # Vite puts a content hash in every asset name, so an asset never changes under its name.
        cache = "public, max-age=31536000, immutable" if request.path.startswith("/assets/") else "no-cache"
        return _file(file, cache)

    return LocalRoute(matches, handle)


def _is_root_file(root: Path, path: str) -> bool:
    name = path.lstrip("/")
    return "/" not in name and name not in ("", ".", "..") and (root / name).is_file()


def _file(file: Path, cache: str) -> LocalResponse:
    content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type in ("application/javascript", "application/json"):
        content_type += "; charset=utf-8"
    headers = {"Content-Type": content_type, "Cache-Control": cache, "X-Content-Type-Options": "nosniff"}
    return LocalResponse(200, file.read_bytes(), headers)


@dataclass(frozen=True)
class BundleSize:
    """The JavaScript a browser downloads to start one app page: its entry plus every chunk it preloads."""

    page: str
    files: tuple[str, ...]
    raw_bytes: int
    gzip_bytes: int


def bundle_sizes(dist: Path, pages: tuple[str, ...] = ("order", "barista", "display")) -> list[BundleSize]:
    sizes = []
    for page in pages:
        html = (dist / f"{page}.html").read_text(encoding="utf-8")
        scripts = sorted(set(re.findall(r'<script[^>]+src="/([^"]+\.js)"', html)))
        preloads = sorted(set(re.findall(r'<link[^>]+rel="modulepreload"[^>]+href="/([^"]+\.js)"', html)))
        files = tuple(dict.fromkeys(scripts + preloads))
        contents = [(dist / name).read_bytes() for name in files]
        sizes.append(
            BundleSize(
                page=page,
                files=files,
                raw_bytes=sum(len(c) for c in contents),
                gzip_bytes=sum(len(gzip.compress(c, compresslevel=9)) for c in contents),
            )
        )
    return sizes
