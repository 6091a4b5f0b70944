"""UI latency benchmark: a barista's Complete click until "Ready" shows on the customer's phone and on the display.

Each journey is done through the real apps in Debian's Chromium (Playwright), as in the end-to-end tests:
a new customer's phone opens the URL decoded from the display's QR code, signs in through the local sign-in
(codes from the outbox), orders an Espresso; the barista makes it and clicks Complete. The clock starts in
the barista's page at the click (a capturing listener) and stops in each other page when a MutationObserver
sees "Ready" in the phone's status region, and the order's number in the display's "Ready for pickup"
region. All pages share the machine's clock (Date.now()).

It starts its own `serverlesspresso up` (temporary data directory, free ports) and stops it. Prints p50,
p90, p99 and max per screen, plus the apps' bundle sizes (gzipped JavaScript each app downloads).

    python bench/ui_latency.py                 # 20 journeys
    python bench/ui_latency.py --journeys 5 --json
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
for extra in (REPO_ROOT, REPO_ROOT / "tests" / "e2e"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from browser_kit import CHROMIUM, CHROMIUM_ARGS, Apps  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from serverlesspresso.webapps import bundle_sizes  # noqa: E402
from tests.support.stack import Api, Stack  # noqa: E402

# Starts watching (without waiting): window.__seenAt resolves with Date.now() once `selector`'s text matches
# `pattern`, checked on every DOM change.
_WATCH_FOR_TEXT = """([selector, pattern]) => {
  window.__seenAt = new Promise((resolve) => {
    const matches = () => [...document.querySelectorAll(selector)].some((e) => new RegExp(pattern).test(e.textContent))
    if (matches()) return resolve(Date.now())
    new MutationObserver((_, observer) => {
      if (matches()) { observer.disconnect(); resolve(Date.now()) }
    }).observe(document.body, { subtree: true, childList: true, characterData: true })
  })
}"""
_RECORD_COMPLETE_CLICK = """() => {
  window.__completeClickedAt = null
  document.addEventListener('click', (event) => {
    const button = event.target.closest('button')
    if (button && button.textContent.trim() === 'Complete') window.__completeClickedAt = Date.now()
  }, { capture: true })
}"""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run(journeys: int) -> dict[str, Any]:
    phone_ms: list[float] = []
    display_ms: list[float] = []
    with tempfile.TemporaryDirectory(prefix="spresso-ui-bench-") as tmp:
        stack = Stack(Path(tmp) / "data")
        stack.start()
        try:
            api = Api(stack)
            organiser = api.token("bench-organiser", admin=True)
            shop = api.new_shop(organiser, drinksPerCode=1000, maxOrdersInQueue=1000)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                apps = Apps(stack, browser, Path(tmp) / "shots")
                display = apps.open_display(shop, phone="+34611900001")
                barista = apps.open_barista(shop, phone="+34611900002")
                barista.evaluate(_RECORD_COMPLETE_CLICK)
                for index in range(journeys):
                    phone, number = apps.open_phone(apps.decode_qr(display))
                    apps.sign_in(phone, number)
                    phone.get_by_role("radio", name=re.compile("^Espresso")).check()
                    phone.get_by_role("button", name="Place order").click()
                    status = phone.get_by_role("status")
                    expect(status).to_contain_text(re.compile(r"Order #\d+"))
                    order_number = int(re.search(r"Order #(\d+)", status.inner_text()).group(1))  # type: ignore[union-attr]
                    card = barista.get_by_role("article").filter(has_text=re.compile(rf"#{order_number}\b"))
                    card.get_by_role("button", name="Make", exact=True).click()
                    expect(status).to_contain_text("being made")
                    phone.evaluate(_WATCH_FOR_TEXT, ["[role=status]", "Ready"])
                    display.evaluate(_WATCH_FOR_TEXT, ["#display-ready ~ ol", rf"#{order_number}(?!\d)"])
                    card.get_by_role("button", name="Complete", exact=True).click()
                    clicked = barista.evaluate("() => window.__completeClickedAt")
                    phone_at = phone.evaluate("() => window.__seenAt")
                    display_at = display.evaluate("() => window.__seenAt")
                    phone_ms.append(phone_at - clicked)
                    display_ms.append(display_at - clicked)
                    print(
                        f"journey {index + 1:>3}/{journeys}: "
                        f"phone {phone_ms[-1]:6.0f} ms, display {display_ms[-1]:6.0f} ms",
                        flush=True,
                    )
                    phone.context.close()
                    apps.contexts.remove(phone.context)
                apps.close()
                browser.close()
        finally:
            stack.stop()
    summary = {
        screen: {
            "p50_ms": percentile(values, 0.5),
            "p90_ms": percentile(values, 0.9),
            "p99_ms": percentile(values, 0.99),
            "max_ms": max(values),
            "mean_ms": statistics.fmean(values),
        }
        for screen, values in (("phone", phone_ms), ("display", display_ms))
    }
    sizes = {
        size.page: {"gzip_kb": round(size.gzip_bytes / 1024, 1), "raw_kb": round(size.raw_bytes / 1024, 1)}
        for size in bundle_sizes(REPO_ROOT / "web" / "dist")
    }
    return {"journeys": journeys, "complete_to_ready": summary, "bundles": sizes, "at": time.strftime("%Y-%m-%d %H:%M")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--journeys", type=int, default=20, help="journeys to time (default: 20)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args()
    if args.journeys < 1:
        parser.error("--journeys must be at least 1")
    result = run(args.journeys)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"\nComplete click -> Ready, {result['journeys']} journeys")
    for screen, numbers in result["complete_to_ready"].items():
        print(
            f"  {screen:<8} p50 {numbers['p50_ms']:6.0f} ms   p90 {numbers['p90_ms']:6.0f} ms   "
            f"p99 {numbers['p99_ms']:6.0f} ms   max {numbers['max_ms']:6.0f} ms"
        )
    print("\nJavaScript per app (entry + preloaded chunks)")
    for page, size in result["bundles"].items():
        print(f"  {page:<8} {size['gzip_kb']:6.1f} KB gzipped   {size['raw_kb']:7.1f} KB minified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
