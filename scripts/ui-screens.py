#!/usr/bin/env python3
"""Screenshots of every dashboard page at 1280 px and at a phone's 375 px (``make screens``).

Starts ``cnsec serve`` over a temporary store seeded as the end-to-end test seeds it (a real assessment
of examples/shop, the alerts of examples/attack, a planned response), signs in through the login form
in Debian's Chromium (headless, driven by Playwright) and saves ``out/screens/<page>-<width>.png``.
Any console error or Content-Security-Policy violation is printed and makes the exit status 1.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.serve.ui.live import CHROMIUM, CHROMIUM_ARGS, PASSWORD, chromium_missing, serve  # noqa: E402
from tests.serve.ui.seed import seed_through_api  # noqa: E402

PAGES = {"login": "/ui/login", "overview": "/ui/", "findings": "/ui/findings", "assets": "/ui/assets",
         "risks": "/ui/risks", "plan": "/ui/plan", "alerts": "/ui/alerts", "responses": "/ui/responses",
         "audit": "/ui/audit", "users": "/ui/users"}
WIDTHS = {1280: 800, 375: 812}


def main() -> int:
    why = chromium_missing()
    if why:
        print(f"screens: {why}", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    out = ROOT / "out" / "screens"
    out.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, serve(Path(tmp)) as live, sync_playwright() as pw:
        seed_through_api(live)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for width, height in WIDTHS.items():
            page = browser.new_page(viewport={"width": width, "height": height})
            page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("response", lambda r: problems.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
            page.goto(f"{live.base}/ui/login")
            page.screenshot(path=str(out / f"login-{width}.png"), full_page=True)
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{live.base}/ui/")
            for name, path in PAGES.items():
                if name == "login":
                    continue
                page.goto(live.base + path)
                page.screenshot(path=str(out / f"{name}-{width}.png"), full_page=True)
            page.close()
        browser.close()
    for p in problems:
        print(f"screens: {p}", file=sys.stderr)
    print(f"screens: {len(PAGES) * len(WIDTHS)} screenshots in {out.relative_to(ROOT)}/", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
