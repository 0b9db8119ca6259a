"""One look for every figure: seaborn theme, readable sizes, PNG written atomically.

Figures are PNG (shown by the offline report pages; no JavaScript from a CDN).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: stages run without a display

import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

from recsys_challenges.io import atomic_file  # noqa: E402

DPI = 150


def setup() -> None:
    """Apply the project's seaborn theme (call once before drawing)."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind", font_scale=0.95)
    plt.rcParams.update({"figure.dpi": DPI, "savefig.bbox": "tight", "axes.titleweight": "bold"})


def save_png(figure: plt.Figure, path: Path | str) -> Path:
    """Save ``figure`` as PNG at ``path`` atomically (no metadata, so the bytes depend on content only)."""
    path = Path(path)
    with atomic_file(path) as tmp:
        figure.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(figure)
    return path
