"""``make screenshot``: render ``reports/index.html`` in headless Chromium with the network cut off.

Proves the report opens offline: every host name resolves to nothing, so a figure or script that
needed a CDN would be missing from the picture. :func:`rendered_dom` gives a page's DOM after its
scripts ran, under the same conditions (the test of ``dvc plots show``'s page reads it). Needs a
Chromium (``apt install chromium``, or ``CHROMIUM=/path/to/chrome``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
from pathlib import Path

from recsys_challenges.errors import DataError
from recsys_challenges.io import atomic_file

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")


def find_chromium() -> str | None:
    """The Chromium to use: ``$CHROMIUM``, else the first of :data:`BROWSERS` on ``PATH``."""
    return os.environ.get("CHROMIUM") or next((path for name in BROWSERS if (path := shutil.which(name))), None)


def _offline_command(page: Path, *options: str) -> list[str]:
    """Headless Chromium on ``page`` with every host name resolving to nothing (no network)."""
    if not page.is_file():
        raise DataError(f"{page}: not found (run `dvc repro report_gallery` first)")
    browser = find_chromium()
    if browser is None:
        raise DataError("no Chromium found: `apt install chromium` or set CHROMIUM=/path/to/chrome")
    return [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # offline: any network fetch fails
        *options, page.resolve().as_uri(),
    ]


def screenshot(page: Path, out: Path, width: int = 1280, height: int = 6000) -> None:
    """PNG of ``page`` at ``width`` x ``height`` CSS pixels, written atomically to ``out``."""
    with atomic_file(out) as tmp:
        png = tmp.with_suffix(".png")  # Chromium writes PNG only to a .png name
        command = _offline_command(page, f"--window-size={width},{height}", f"--screenshot={png}")
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=120)
            if result.returncode != 0 or not png.is_file() or png.stat().st_size == 0:
                raise DataError(f"{command[0]} could not render {page}: {result.stderr.strip()[-500:]}")
            png.replace(tmp)
        finally:
            png.unlink(missing_ok=True)


def rendered_dom(page: Path, budget_ms: int = 20000) -> str:
    """The DOM of ``page`` once its scripts have run (up to ``budget_ms`` of virtual time), offline:
    a chart drawn by JavaScript shows up as its ``<canvas>`` or ``<svg>``, one that needed a CDN does not."""
    command = _offline_command(page, f"--virtual-time-budget={budget_ms}", "--dump-dom")
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if result.returncode != 0 or not result.stdout:
        raise DataError(f"{command[0]} could not render {page}: {result.stderr.strip()[-500:]}")
    return result.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="recsys_challenges screenshot", description=__doc__.splitlines()[0])
    parser.add_argument("--page", type=Path, default=Path("reports/index.html"))
    parser.add_argument("--out", type=Path, default=Path("reports/screenshot.png"))
    args = parser.parse_args(argv)
    screenshot(args.page, args.out)
    print(f"{args.page} rendered offline to {args.out}")
    return 0
