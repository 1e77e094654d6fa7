"""Screenshots of the reports for the README (docs/screenshots/), taken in headless Chromium from reports/.

    .venv/bin/python tools/screenshots.py [--reports reports] [--scenario one_time_raid] [--out docs/screenshots]

Writes the first screen of a scenario's report at 1400 x 900 (desktop) and 390 x 844 (phone), the landing page at
both sizes, and the What if panel after a hypothetical poll and an episode have been added (desktop). Needs
Debian's chromium and chromium-driver (tools/browser.sh) and the test extras (selenium).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCREENS = {"desktop": (1400, 900, False), "phone": (390, 844, True)}


def driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="forecast-shots-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}"):
        opts.add_argument(arg)
    drv = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=opts)
    return drv, profile


def screen(drv, name: str) -> None:
    w, h, mobile = SCREENS[name]
    drv.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                        {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": mobile})


def whatif(drv, page: Path, out: Path) -> None:
    """The panel after a poll (85% opposed, n 1000) and an episode (the scenario's action, agents expelled)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    screen(drv, "desktop")
    drv.get(page.as_uri())
    drv.find_element(By.ID, "whatif-poll-share").clear()
    drv.find_element(By.ID, "whatif-poll-share").send_keys("0.85")
    drv.find_element(By.ID, "whatif-poll-n").clear()
    drv.find_element(By.ID, "whatif-poll-n").send_keys("1000")
    drv.execute_script("arguments[0].click()", drv.find_element(By.ID, "whatif-add"))
    Select(drv.find_element(By.ID, "whatif-kind")).select_by_value("episode")  # the report's action, preselected
    for sel in drv.find_elements(By.CSS_SELECTOR, "#whatif-episode select[data-response]"):
        if sel.get_attribute("data-response") == "expel_agents":
            Select(sel).select_by_value("1")
    drv.execute_script("arguments[0].click()", drv.find_element(By.ID, "whatif-add"))
    Select(drv.find_element(By.ID, "whatif-kind")).select_by_value("poll")  # fold the episode's form away
    items = drv.find_element(By.ID, "whatif-items")
    drv.execute_script("arguments[0].scrollIntoView({block: 'start'}); window.scrollBy(0, -150)", items)
    drv.save_screenshot(str(out / "whatif-after-poll-and-episode.png"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reports", default=str(ROOT / "reports"))
    ap.add_argument("--scenario", default="one_time_raid")
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    ns = ap.parse_args(argv)
    reports, out = Path(ns.reports).resolve(), Path(ns.out).resolve()
    report = reports / ns.scenario / "report.html"
    landing = reports / "index.html"
    for p in (report, landing):
        if not p.is_file():
            print(f"screenshots: {p} is missing; run make reports first", file=sys.stderr)
            return 2
    out.mkdir(parents=True, exist_ok=True)
    drv, profile = driver()
    try:
        for name in SCREENS:
            screen(drv, name)
            drv.get(report.as_uri())
            drv.save_screenshot(str(out / f"report-{name}.png"))
            drv.get(landing.as_uri())
            drv.save_screenshot(str(out / f"landing-{name}.png"))
        whatif(drv, report, out)
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)
    for p in sorted(out.glob("*.png")):
        print(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
