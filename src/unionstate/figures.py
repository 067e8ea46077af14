"""Writing a chart to figures/<label>.svg, .png and .csv: same data, same bytes. The PNG is
the SVG rasterised by resvg (vl-convert's `svg_to_png`), so the two agree to the pixel."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

# No creation dates, no software strings that change between runs on one environment.
SVG_METADATA = {"Date": None, "Creator": None}
PNG_DPI = 150
# svg_to_png makes ppi/72 pixels per CSS pixel (4/3 of a point); this scale gives PNG_DPI
# pixels per inch of the chart, and the PNG's pHYs chunk says PNG_DPI.
PNG_SCALE = 0.75


@dataclass(frozen=True)
class Shown:
    """A figure as the build shows it: Quarto picks the SVG for every format (quarto-cli's
    display-data.ts ranks it above image/png); the Quarto-free preview shows the PNG."""

    label: str
    svg: str
    png: bytes

    def _repr_mimebundle_(self, include=None, exclude=None):
        data = {"image/svg+xml": self.svg,
                "image/png": base64.b64encode(self.png).decode("ascii"),
                "text/plain": f"<figure {self.label}>"}
        pixels = int.from_bytes(self.png[16:20], "big")  # the width, in the PNG's header
        return data, {"image/png": {"width": round(pixels / PNG_DPI * 96)}}  # in CSS pixels


def svg_of(fig: Figure) -> str:
    """The chart as SVG, the bytes of a plain `savefig`, drawn once: `savefig` would draw
    twice to run the layout engine; here the layout runs alone, with the SVG's text metrics."""
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    engine = fig.get_layout_engine()
    if engine is not None:
        FigureCanvasSVG(fig)  # the layout measures text as the SVG renderer does
        engine.execute(fig)
        fig.set_layout_engine(None)  # positions stay where the layout put them
    out = io.StringIO()
    fig.savefig(out, format="svg", metadata=SVG_METADATA)
    return out.getvalue()


def png_of(svg: str) -> bytes:
    """The SVG rasterised at PNG_DPI, saved again by Pillow without the alpha channel when
    every pixel is opaque: a third of the size of resvg's own file, pixel for pixel the same."""
    import vl_convert
    from PIL import Image

    raster = Image.open(io.BytesIO(vl_convert.svg_to_png(svg, scale=PNG_SCALE, ppi=PNG_DPI)))
    if raster.mode == "RGBA" and raster.getextrema()[3] == (255, 255):
        raster = raster.convert("RGB")
    out = io.BytesIO()
    raster.save(out, format="PNG", dpi=(PNG_DPI, PNG_DPI))
    return out.getvalue()


def save(fig: Figure, rows: pd.DataFrame, label: str, folder: Path) -> Shown:
    """Write <label>.svg, .png and .csv to the folder; the figure as those files show it."""
    folder.mkdir(parents=True, exist_ok=True)
    svg = svg_of(fig)
    shown = Shown(label, svg, png_of(svg))
    (folder / f"{label}.svg").write_text(svg, encoding="utf-8", newline="\n")
    (folder / f"{label}.png").write_bytes(shown.png)
    rows = rows.copy()  # in the CSV: no float noise, ISO dates
    for col in rows.columns:
        if pd.api.types.is_datetime64_any_dtype(rows[col]):
            rows[col] = rows[col].dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_float_dtype(rows[col]):
            rows[col] = rows[col].map(lambda v: "" if pd.isna(v) else f"{round(v, 4):g}")
    rows.to_csv(folder / f"{label}.csv", index=False, lineterminator="\n")
    return shown
