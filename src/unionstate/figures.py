"""Writing a chart to figures/<label>.svg, .png and .csv: same data, same bytes."""

from __future__ import annotations

import base64
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Shown:
    """A figure as the build's notebook shows it: the bytes of the SVG and PNG files just
    written, not a second rendering. Quarto picks the SVG when both are there (for HTML, Typst
    and DOCX alike: quarto-cli src/core/jupyter/display-data.ts ranks image/svg+xml above
    image/png); the Quarto-free preview shows the PNG."""

    label: str
    svg: str
    png: bytes

    @classmethod
    def of(cls, label: str, paths: list[Path]) -> Shown:
        return cls(label, paths[0].read_text(encoding="utf-8"), paths[1].read_bytes())

    def _repr_mimebundle_(self, include=None, exclude=None):
        data = {"image/svg+xml": self.svg,
                "image/png": base64.b64encode(self.png).decode("ascii"),
                "text/plain": f"<figure {self.label}>"}
        return data, {"image/png": {"width": screen_width(self.png)}}


def save(fig: Figure, rows: pd.DataFrame, label: str, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{label}.{ext}" for ext in ("svg", "png", "csv")]
    fig.savefig(paths[0], format="svg", metadata=SVG_METADATA)
    fig.savefig(paths[1], format="png", dpi=PNG_DPI, metadata=PNG_METADATA)
    data_frame(rows).to_csv(paths[2], index=False, lineterminator="\n")
    return paths
