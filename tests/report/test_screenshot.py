import base64

import pytest

from recsys_challenges.errors import DataError
from recsys_challenges.report.screenshot import find_chromium, screenshot

# a 1x1 red PNG, embedded as the gallery embeds its figures
PIXEL = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==")


@pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine (apt install chromium)")
def test_page_with_embedded_png_renders_offline(tmp_path):
    page = tmp_path / "index.html"
    page.write_text(f"<html><body><h1>report</h1><img src='data:image/png;base64,{base64.b64encode(PIXEL).decode()}'></body></html>")
    out = tmp_path / "shot.png"
    screenshot(page, out, width=200, height=200)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_missing_page_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="index.html: not found"):
        screenshot(tmp_path / "index.html", tmp_path / "shot.png")
    assert not (tmp_path / "shot.png").exists()
