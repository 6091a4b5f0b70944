"""Each app's JavaScript, as a phone downloads it, stays under its budget (250 KB gzipped)."""

from __future__ import annotations

from serverlesspresso.webapps import bundle_sizes
from tests.support.stack import REPO_ROOT

BUDGET_GZIP_BYTES = 250 * 1024


def test_every_app_fits_its_javascript_budget() -> None:
    sizes = bundle_sizes(REPO_ROOT / "web" / "dist")
    assert {size.page for size in sizes} == {"order", "barista", "display"}
    for size in sizes:
        assert any(name.startswith("assets/vendor-") for name in size.files), size  # the shared libraries count
        assert size.gzip_bytes < BUDGET_GZIP_BYTES, f"{size.page}: {size.gzip_bytes / 1024:.1f} KB gzipped"
