"""The local runtime's web routes: the apps' pages and assets, their runtime config, what each app downloads."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from serverlesspresso.server import LocalRequest, LocalResponse, LocalRoute
from serverlesspresso.webapps import bundle_sizes, config_route, web_route


def get(route: LocalRoute, path: str, method: str = "GET") -> LocalResponse | None:
    if not route.matches(method, path):
        return None
    return route.handle(LocalRequest(method, path, "", {}, b"", "127.0.0.1"))


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    for page in ("index", "order", "barista", "display"):
        scripts = "" if page == "index" else (
            f'<script type="module" src="/assets/{page}-1.js"></script>'
            '<link rel="modulepreload" crossorigin href="/assets/vendor-1.js">'
        )
        (tmp_path / f"{page}.html").write_text(f"<!doctype html><title>{page}</title>{scripts}")
        (tmp_path / "assets" / f"{page}-1.js").write_text(f"console.log('{page}')" * 50)
    (tmp_path / "assets" / "vendor-1.js").write_text("export const vendor = 1;" * 400)
    (tmp_path / "favicon.svg").write_text("<svg/>")
    (tmp_path.parent / "secret.txt").write_text("not for browsers")
    return tmp_path


def test_each_app_is_served_at_its_clean_path(dist: Path) -> None:
    route = web_route(dist)
    for path, page in (("/order", "order"), ("/barista", "barista"), ("/display/", "display"), ("/", "index")):
        response = get(route, path)
        assert response is not None and response.status == 200, path
        assert f"<title>{page}</title>".encode() in response.body
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert response.headers["Cache-Control"] == "no-cache"  # a new build is picked up at once


def test_hashed_assets_are_cached_for_good_and_root_files_are_served(dist: Path) -> None:
    route = web_route(dist)
    asset = get(route, "/assets/order-1.js")
    assert asset is not None and asset.status == 200
    assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert asset.headers["Content-Type"].startswith(("text/javascript", "application/javascript"))
    icon = get(route, "/favicon.svg")
    assert icon is not None and icon.status == 200 and icon.headers["Content-Type"] == "image/svg+xml"


def test_the_api_keeps_every_other_path(dist: Path) -> None:
    route = web_route(dist)
    api_requests = (("GET", "/orders/abc"), ("GET", "/shops/default/code"), ("POST", "/order"), ("GET", "/graphql"))
    for method, path in api_requests:
        assert not route.matches(method, path), (method, path)


def test_nothing_outside_the_build_can_be_read(dist: Path) -> None:
    route = web_route(dist)
    for path in ("/assets/../../secret.txt", "/assets/%2e%2e/secret.txt", "/assets/missing.js"):
        response = get(route, path)
        assert response is not None and response.status == 404, path
        assert b"not for browsers" not in response.body
    assert not route.matches("GET", "/../secret.txt")


def test_an_unbuilt_app_says_how_to_build_it(tmp_path: Path) -> None:
    response = get(web_route(tmp_path / "dist"), "/order")
    assert response is not None and response.status == 503
    assert b"make web" in response.body


def test_the_runtime_config_is_served_as_json() -> None:
    config = {"apiUrl": "", "auth": {"userPoolId": "local_x"}}
    response = get(config_route(config), "/config.json")
    assert response is not None and response.status == 200
    assert json.loads(response.body) == config
    assert response.headers["Cache-Control"] == "no-cache"


def test_bundle_sizes_count_each_apps_entry_and_preloaded_chunks(dist: Path) -> None:
    sizes = {size.page: size for size in bundle_sizes(dist)}
    assert set(sizes) == {"order", "barista", "display"}
    order = sizes["order"]
    assert order.files == ("assets/order-1.js", "assets/vendor-1.js")
    contents = [(dist / name).read_bytes() for name in order.files]
    assert order.raw_bytes == sum(len(c) for c in contents)
    assert order.gzip_bytes == sum(len(gzip.compress(c, compresslevel=9)) for c in contents)
