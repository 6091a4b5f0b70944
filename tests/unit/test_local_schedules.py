"""The local runtime runs the app's @schedule handlers at their rate (time scaled down for the test)."""

from __future__ import annotations

import time

from chalice import Chalice, Rate  # type: ignore[attr-defined]

from serverlesspresso.emulator import Schedules


def test_scheduled_handlers_run_at_their_rate_with_a_scheduled_event() -> None:
    app = Chalice(app_name="schedules-test")
    seen: list[str] = []

    @app.schedule(Rate(1, unit=Rate.MINUTES), name="every_minute")
    def every_minute(event: object) -> None:
        seen.append(getattr(event, "detail_type", ""))

    @app.schedule(Rate(1, unit=Rate.HOURS), name="every_hour")
    def every_hour(event: object) -> None:
        seen.append("hourly")

    # 1 s of schedule time per 2 ms: a minute passes every 0.12 s, an hour every 7.2 s.
    schedules = Schedules(app, seconds_per_second=0.002, tick=0.01)
    assert sorted(schedules.names) == ["every_hour", "every_minute"]
    schedules.start()
    time.sleep(0.6)
    schedules.stop()
    assert 3 <= seen.count("Scheduled Event") <= 6, seen
    assert "hourly" not in seen
