"""The control room in a real browser: Debian's headless Chromium, driven by Playwright.

Log in, open the tier dashboard over seeded metrics, see the charts drawn, pause
the rollout through its confirmation page, and see the status and the new
Transition. A screenshot of the dashboard is left in var/test-artifacts/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User

from canary.models import Rollout, RolloutStatus, Transition
from tests.rollouts.conftest import MetricMaker

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(settings.BASE_DIR) / "var" / "test-artifacts"


@pytest.fixture
def seeded_dashboard(rollout_at_25: Rollout, add_metrics: MetricMaker) -> Rollout:
    add_metrics(rollout_at_25, "local", 400, error_rate=0.02, seed=1, ago_s=1800,
                json_requested=True, json_valid=True)
    add_metrics(rollout_at_25, "cloud", 1200, error_rate=0.01, seed=2, ago_s=1800)
    add_metrics(rollout_at_25, "fallback", 8, seed=3, ago_s=600)
    User.objects.create_superuser("operator", "operator@example.com", "correct horse battery")
    return rollout_at_25


@pytest.mark.slow
def test_pause_a_rollout_from_the_dashboard_in_chromium(live_server, seeded_dashboard) -> None:
    if not CHROMIUM.exists():
        pytest.fail("the browser test needs Debian's chromium: `make test` installs it "
                    "(apt-get install chromium chromium-driver)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "dashboard.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{live_server.url}/admin/")
            page.fill("#id_username", "operator")
            page.fill("#id_password", "correct horse battery")
            page.click("input[type=submit]")
            page.click("#control-room-link a")
            page.click("text=haiku")

            # The charts: an inline SVG with drawn lines, laid out with a real size.
            page.wait_for_selector("#charts svg")
            box = page.locator("#charts svg").bounding_box()
            assert box is not None and box["width"] > 600 and box["height"] > 400
            assert page.locator("#charts svg path").count() > 20
            assert page.locator("#status").inner_text() == "rolling"
            assert "error_rate_vs_baseline" in page.locator(".gates").inner_text()
            page.screenshot(path=str(screenshot), full_page=True)

            page.click("#action-pause")
            assert "Gate evidence" in page.content()
            page.fill("#id_reason", "local latency looks odd, holding")
            page.click("#confirm")
            page.wait_for_selector(".messagelist .success")
            assert page.locator("#status").inner_text() == "paused"
            assert "local latency looks odd, holding" in page.locator("#transitions").inner_text()
        finally:
            browser.close()

    assert screenshot.stat().st_size > 20_000
    transition = Transition.objects.get()
    assert (transition.reason, transition.actor, transition.to_status, transition.note) == (
        "pause", "operator", "paused", "local latency looks odd, holding")
    assert Rollout.objects.get().status == RolloutStatus.PAUSED
