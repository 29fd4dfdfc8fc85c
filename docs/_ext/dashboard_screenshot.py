"""Retake docs/images/dashboard.png: the dashboard over a live demo store, in headless Chromium.

Run from the repository root: ``.venv/bin/python docs/_ext/dashboard_screenshot.py``.
The example chat service records for 35 s into a temporary store; half-way through,
``ff-otel dashboard`` serves that store and Debian's ``chromium`` (the one the
dashboard tests drive) takes the page as a user sees it, figures live.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

REPOSITORY = Path(__file__).resolve().parents[2]
OUTPUT = REPOSITORY / "docs" / "images" / "dashboard.png"
DEMO = REPOSITORY / "examples" / "chat_service.py"
BIN = Path(sys.executable).parent


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        # Relative paths from the store's parent: the page's header then reads ff_data,
        # as after `make demo`, not a temporary directory's name.
        demo = subprocess.Popen(
            [sys.executable, str(DEMO), "--base-path", "ff_data", "--seconds", "35"],
            cwd=folder,
            stdout=subprocess.DEVNULL,
        )
        time.sleep(18)  # sessions open, alerts fired, a minute's charts filled in
        dashboard = subprocess.Popen(
            [str(BIN / "ff-otel"), "dashboard", "--base-path", "ff_data", "--port", "0"],
            cwd=folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert dashboard.stdout is not None
            url = next(
                found.group(0)
                for line in dashboard.stdout
                if (found := re.search(r"http://127\.0\.0\.1:\d+/", line))
            )
            with sync_playwright() as playwright:
                chromium = shutil.which("chromium") or "chromium"  # make chromium installs it
                browser = playwright.chromium.launch(executable_path=chromium, headless=True)
                page = browser.new_page(viewport={"width": 1280, "height": 1000})
                page.goto(url)
                page.wait_for_timeout(8000)  # every panel's first refresh
                page.screenshot(path=str(OUTPUT))
                browser.close()
        finally:
            dashboard.terminate()
            dashboard.wait()
            demo.wait()
    print(f"{OUTPUT.relative_to(REPOSITORY)}: {OUTPUT.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
