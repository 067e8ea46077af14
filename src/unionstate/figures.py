"""Writing a chart to figures/<label>.svg, .png and .csv: same data, same bytes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

# No creation dates, no software strings that change between runs on one environment.
SVG_METADATA = {"Date": None, "Creator": None}
PNG_METADATA = {"Software": None}
PNG_DPI = 150


def data_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """The plotted rows as the CSV beside the chart shows them: no float noise, ISO dates."""
    out = rows.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].map(lambda v: "" if pd.isna(v) else f"{round(v, 4):g}")
    return out


def screen_width(png: bytes) -> int:
    """Display width in CSS pixels of a PNG saved at PNG_DPI (its width is in its header)."""
    pixels = int.from_bytes(png[16:20], "big")
    return round(pixels / PNG_DPI * 96)


def wait_for_png(path: Path, marker: Path, timeout: float = 120.0) -> bytes | None:
    """The PNG at `path` once `marker` says it is written; None if the writer failed
    (an ERROR file beside the marker) or took longer than `timeout` seconds."""
    import time

    deadline = time.monotonic() + timeout
    error = marker.parent / "ERROR"
    while time.monotonic() < deadline:
        if marker.exists():
            return path.read_bytes()
        if error.exists():
            return None
        time.sleep(0.02)
    return None


def png_bytes(fig: Figure, dpi: int = PNG_DPI) -> bytes:
    """A PNG of the figure for on-screen reading (the preview), same bytes for same data."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata=PNG_METADATA)
    return buffer.getvalue()


def save(fig: Figure, rows: pd.DataFrame, label: str, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{label}.{ext}" for ext in ("svg", "png", "csv")]
    fig.savefig(paths[0], format="svg", metadata=SVG_METADATA)
    fig.savefig(paths[1], format="png", dpi=PNG_DPI, metadata=PNG_METADATA)
    data_frame(rows).to_csv(paths[2], index=False, lineterminator="\n")
    return paths
