"""The dashboard end to end in a real browser: Debian's Chromium, headless, driven by Playwright, against
``cnsec serve`` in its own process over a store seeded through the API. Log in, see the overview,
triage findings, acknowledge an alert, approve a response; any console error or Content-Security-Policy
violation fails the test, and every page must fit a phone's width."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.serve.ui.live import CHROMIUM, CHROMIUM_ARGS, PASSWORD, Live, chromium_missing, serve
from tests.serve.ui.seed import seed_through_api

pytestmark = pytest.mark.skipif(chromium_missing() is not None, reason=chromium_missing() or "")

PAGES = ["/ui/", "/ui/findings", "/ui/assets", "/ui/risks", "/ui/plan", "/ui/alerts", "/ui/responses"]
#: reports every CSP violation as a console error (an init script runs outside the page's CSP)
REPORT_CSP = """document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " " + (e.blockedURI || "inline"));
});"""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Live, dict[str, Any]]]:
    with serve(tmp_path_factory.mktemp("serve")) as server:
        yield server, seed_through_api(server)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Watched:
    """A page whose console errors, uncaught exceptions, CSP violations and failed requests are kept."""

    def __init__(self, browser: Any, base: str, width: int = 1280) -> None:
        self.base = base
        self.problems: list[str] = []
        self.page = browser.new_page(viewport={"width": width, "height": 900})
        self.page.add_init_script(REPORT_CSP)
        self.page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}")
                     if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.problems.append(f"uncaught: {e}"))
        self.page.on("response", lambda r: self.problems.append(f"HTTP {r.status} {r.url}")
                     if r.status >= 400 else None)

    def log_in(self, user: str) -> None:
        p = self.page
        p.goto(f"{self.base}/ui/findings")  # not signed in: sent to the form, and back after it
        p.wait_for_url(f"{self.base}/ui/login?next=/ui/findings")
        p.fill("input[name=username]", user)
        p.fill("input[name=password]", PASSWORD)
        p.click("button[type=submit]")
        p.wait_for_url(f"{self.base}/ui/findings")

    def close(self) -> None:
        self.page.close()
        assert self.problems == []


def _api(live: Live, user: str, path: str) -> Any:
    r = httpx.get(live.base + path, headers=live.token(user), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def test_an_analyst_logs_in_sees_the_overview_and_triages_findings(live: tuple[Live, dict[str, Any]],
                                                                   browser: Any) -> None:
    server, _ = live
    w = Watched(browser, server.base)
    w.log_in("analyst")
    p = w.page
    p.click("nav.pages >> text=Overview")
    p.wait_for_url(f"{server.base}/ui/")
    assert p.locator("svg.chart").count() == 3
    assert p.locator("svg.chart rect.level-critical").count() >= 1  # the riskiest assets, drawn

    p.goto(f"{server.base}/ui/findings")
    p.select_option("form.filters select[name=severity]", "critical")  # htmx fetches the table and the URL
    p.wait_for_url("**/ui/findings?*severity=critical*")
    p.locator("table.findings").wait_for()
    assert set(p.locator("table.findings td[data-label=Severity]").all_inner_texts()) == {"critical"}
    boxes = p.locator('input[name="ids"]')
    fids = [boxes.nth(i).get_attribute("value") for i in range(2)]
    boxes.nth(0).check()
    boxes.nth(1).check()
    assert p.locator("[data-selected-count]").inner_text() == "2 selected"
    p.select_option("select[name=action]", "suppress")
    p.fill("input[name=reason]", "accepted for the demo shop")
    p.click("#triage button[type=submit]")
    p.locator("#toast.good").wait_for()
    assert p.locator("#toast").inner_text() == "2 updated"
    for fid in fids:
        finding = _api(server, "analyst", f"/v1/findings/{fid}")
        assert finding["triage"] == "suppressed" and finding["suppress_reason"] == "accepted for the demo shop"
    # the table was fetched again: the two are now shown suppressed
    assert p.locator("td >> text=accepted for the demo shop").count() == 2
    w.close()


def test_an_analyst_acknowledges_an_alert(live: tuple[Live, dict[str, Any]], browser: Any) -> None:
    server, _ = live
    w = Watched(browser, server.base)
    w.log_in("analyst")
    p = w.page
    p.goto(f"{server.base}/ui/alerts?status=open")
    first = p.locator("li.alert").first
    alert_id = (first.get_attribute("id") or "").removeprefix("alert-")
    first.locator("details.evidence summary").click()
    assert first.locator("details.evidence pre").first.is_visible()
    first.locator("button", has_text="Acknowledge").click()
    p.locator("#toast.good").wait_for()
    assert _api(server, "analyst", f"/v1/alerts/{alert_id}")["status"] == "acknowledged"
    assert p.locator(f"#alert-{alert_id}").count() == 0  # no longer open: gone from this list
    w.close()


def test_a_responder_approves_a_response_an_analyst_cannot(live: tuple[Live, dict[str, Any]], browser: Any) -> None:
    server, seeded = live
    rid = seeded["response"]["id"]
    w = Watched(browser, server.base)
    w.log_in("analyst")
    w.page.goto(f"{server.base}/ui/responses")
    assert w.page.locator(f"#response-{rid} button", has_text="Approve").count() == 0
    w.close()

    w = Watched(browser, server.base)
    w.log_in("responder")
    p = w.page
    p.goto(f"{server.base}/ui/responses")
    p.locator(f"#response-{rid} button", has_text="Approve").click()
    p.locator("#toast.good").wait_for()
    assert _api(server, "responder", f"/v1/responses/{rid}")["status"] == "approved"
    assert p.locator(f"#response-{rid} button", has_text="Apply").count() == 1
    p.click("form.logout button")
    p.wait_for_url(f"{server.base}/ui/login")
    p.goto(f"{server.base}/ui/responses")
    p.wait_for_url(f"{server.base}/ui/login?next=/ui/responses")
    w.close()


@pytest.mark.parametrize("width", [375, 1280])
def test_every_page_fits_the_screen_width(live: tuple[Live, dict[str, Any]], browser: Any, width: int) -> None:
    server, _ = live
    w = Watched(browser, server.base, width)
    w.log_in("admin")
    for page in [*PAGES, "/ui/audit", "/ui/users"]:
        w.page.goto(server.base + page)
        overflow = w.page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, f"{page} is {overflow} px wide on a {width} px screen"
    w.close()


def test_the_watcher_catches_a_csp_violation(live: tuple[Live, dict[str, Any]], browser: Any,
                                            tmp_path: Path) -> None:
    """The test would fail on an inline style: the server's CSP refuses it, and the watcher sees that."""
    server, _ = live
    w = Watched(browser, server.base)
    w.page.goto(f"{server.base}/ui/login")
    w.page.evaluate("""() => { const d = document.createElement('div');
                              d.innerHTML = '<img src="https://example.invalid/x.png">';
                              document.body.appendChild(d); }""")
    w.page.wait_for_timeout(300)
    assert any("CSP violation" in p for p in w.problems), w.problems
    w.problems.clear()
    w.close()
