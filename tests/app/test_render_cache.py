"""What the Observatory caches between reruns shows the same thing as before: images and chart specs."""
from __future__ import annotations

import io

from PIL import Image


def _png(path, size: tuple[int, int], mode: str = "RGBA") -> None:
    Image.new(mode, size, (30, 120, 200, 255)[:len(mode)]).save(path, format="PNG")


def test_wide_plot_is_resized_once_to_the_widest_streamlit_image(tmp_path):
    from app_pages import components as C

    wide, narrow = tmp_path / "wide.png", tmp_path / "narrow.png"
    _png(wide, (2384, 525))
    _png(narrow, (746, 611))
    data = C.image_bytes(str(wide), wide.stat().st_mtime)
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "PNG" and img.mode == "RGBA"
        assert img.size == (C.MAX_IMAGE_WIDTH, int(525 * C.MAX_IMAGE_WIDTH / 2384)), "same aspect ratio"
    assert C.image_bytes(str(narrow), narrow.stat().st_mtime) == narrow.read_bytes(), "narrow plots pass as they are"
