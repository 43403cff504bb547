"""Benchmark reports: JSON results and a self-contained HTML page with inline SVG charts.

A `Report` holds what one scenario run measured: its flat figures (the ones `summary.json` collects), the
per-second samples of each target, the events (a backend killed, a reload, a scale-up) with their time in
the run, the exact configuration and the machine. `render_html` draws throughput, latency percentiles and
errors over time as SVG with event markers — no script, no external stylesheet or font, so the file opens
anywhere, offline, and passes a strict Content-Security-Policy. `render_pdf` prints that page to PDF with
headless Chromium where it is installed (Debian's `chromium`; the container images leave it out).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadtests.load import Sample

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
WIDTH, HEIGHT, PAD_L, PAD_R, PAD_T, PAD_B = 760, 240, 64, 120, 28, 36


@dataclass
class Event:
    t: float
    label: str

    def row(self) -> dict[str, object]:
        return {"t": round(self.t, 2), "label": self.label}


@dataclass
class Report:
    scenario: str
    title: str
    figures: dict[str, float] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)
    summaries: dict[str, dict[str, object]] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)  # extra per-second rows (e.g. replicas)
    # How to draw `timeline`: (title, keys on one chart, unit); by default one chart per key.
    timeline_charts: list[tuple[str, list[str], str]] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=dict)
    created: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    def results(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "title": self.title,
            "created": self.created,
            "figures": self.figures,
            "config": self.config,
            "machine": self.machine or machine_info(),
            "summaries": self.summaries,
            "events": [e.row() for e in self.events],
            "samples": [s.row() for s in self.samples],
            "timeline": self.timeline,
            "timeline_charts": self.timeline_charts,
        }

    def write(self, out_dir: Path, name: str) -> list[Path]:
        """`<name>.results.json`, `<name>.html` and (where Chromium is installed) `<name>.pdf`."""
        out_dir.mkdir(parents=True, exist_ok=True)
        results = self.results()
        json_path, html_path = out_dir / f"{name}.results.json", out_dir / f"{name}.html"
        json_path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        page = render_html(results)
        html_path.write_text(page)
        pdf = render_pdf(page)
        if pdf is None:
            return [json_path, html_path]
        pdf_path = out_dir / f"{name}.pdf"
        pdf_path.write_bytes(pdf)
        return [json_path, html_path, pdf_path]


# Headless Chromium for printing only: no network of its own, no extensions, a throwaway profile. The page
# it prints is ours and loads nothing, so the renderer's sandbox is not needed (and needs a non-root user).
_CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-first-run",
    "--no-pdf-header-footer",
)


def render_pdf(page: str, timeout_s: float = 60) -> bytes | None:
    """The HTML report printed to PDF by headless Chromium; None where Chromium is not installed.

    Raises RuntimeError if Chromium runs but prints nothing (its own output in the message).
    """
    chromium = shutil.which("chromium")
    if chromium is None:
        return None
    with tempfile.TemporaryDirectory(prefix="lb-report-pdf-") as tmp:
        source, target = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        source.write_text(page)
        argv = [
            chromium,
            *_CHROMIUM_FLAGS,
            f"--user-data-dir={tmp}/profile",
            f"--print-to-pdf={target}",
            source.as_uri(),
        ]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False)
        if done.returncode != 0 or not target.exists():
            raise RuntimeError(f"chromium printed no PDF (exit {done.returncode}): {done.stderr[-500:]}")
        return target.read_bytes()


def _version(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=5, check=False)
    except OSError:
        return "not installed"
    return (done.stdout + done.stderr).strip().splitlines()[0] if (done.stdout + done.stderr).strip() else ""


def machine_info() -> dict[str, Any]:
    """What the figures depend on: CPU, memory, kernel and the versions of the programs involved."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    except (OSError, StopIteration, ValueError):
        mem_kb = 0
    return {
        "hostname": platform.node(),
        "kernel": platform.release(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "memory_mb": mem_kb // 1024,
        "python": platform.python_version(),
        "nginx": _version(["nginx", "-v"]),
        "haproxy": _version(["haproxy", "-v"]),
        "wrk": _version(["wrk", "-v"]),
    }


# ---- SVG -----------------------------------------------------------------------------------------------


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** len(str(int(value))) / 10
    for step in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if value <= step * magnitude:
            return step * magnitude
    return value


def _fmt(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def line_chart(
    title: str,
    series: Sequence[tuple[str, Sequence[tuple[float, float]]]],
    events: Iterable[Mapping[str, Any]],
    y_label: str,
    x_max: float,
) -> str:
    """An SVG line chart: one polyline + one circle (with a tooltip) per point, dashed event markers."""
    plot_w, plot_h = WIDTH - PAD_L - PAD_R, HEIGHT - PAD_T - PAD_B
    y_max = _nice_max(max((y for _, pts in series for _, y in pts), default=0.0))
    x_max = math.ceil(x_max / 5) * 5 if x_max > 10 else max(x_max, 1.0)

    def px(x: float) -> float:
        return PAD_L + x / x_max * plot_w

    def py(y: float) -> float:
        return PAD_T + plot_h - y / y_max * plot_h

    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{html.escape(title)}">',
        f'<text x="{PAD_L}" y="16" class="title">{html.escape(title)}</text>',
        f'<rect x="{PAD_L}" y="{PAD_T}" width="{plot_w}" height="{plot_h}" class="frame"/>',
    ]
    for i in range(5):
        value = y_max * i / 4
        y = py(value)
        parts.append(f'<line x1="{PAD_L}" x2="{PAD_L + plot_w}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(
            f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{_fmt(value)}</text>'
        )
    for i in range(6):
        value = x_max * i / 5
        parts.append(
            f'<text x="{px(value):.1f}" y="{PAD_T + plot_h + 16}" class="tick" '
            f'text-anchor="middle">{value:.0f}s</text>'
        )
    parts.append(
        f'<text x="14" y="{PAD_T + plot_h / 2}" class="tick" text-anchor="middle" '
        f'transform="rotate(-90 14 {PAD_T + plot_h / 2})">{html.escape(y_label)}</text>'
    )
    for number, event in enumerate(events, 1):
        # Markers carry their number (the events table names them): labels of close events would overlap.
        x = px(float(event["t"]))
        label = html.escape(f"{number}: {event['label']} at {float(event['t']):.2f}s")
        parts.append(
            f'<g class="event"><title>{label}</title>'
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{PAD_T}" y2="{PAD_T + plot_h}"/>'
            f'<text x="{x + 2:.1f}" y="{PAD_T + 10 + (number - 1) % 3 * 10}">{number}</text></g>'
        )
    for index, (name, points) in enumerate(series):
        color = COLORS[index % len(COLORS)]
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points)
        parts.append(
            f'<g class="series" data-series="{html.escape(name)}">'
            f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="1.6"/>'
        )
        for x, y in points:
            parts.append(
                f'<circle class="point" cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.2" fill="{color}">'
                f"<title>{html.escape(name)} at {x:.1f}s: {_fmt(y)}</title></circle>"
            )
        parts.append("</g>")
        legend_y = PAD_T + 12 + index * 16
        parts.append(
            f'<rect x="{WIDTH - PAD_R + 10}" y="{legend_y - 8}" width="10" height="10" fill="{color}"/>'
            f'<text x="{WIDTH - PAD_R + 24}" y="{legend_y + 1}" class="legend">{html.escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _series(samples: list[dict[str, Any]], value: Any) -> list[tuple[str, list[tuple[float, float]]]]:
    targets = list(dict.fromkeys(s["target"] for s in samples))
    return [
        (target, [(s["t"] + s["duration_s"] / 2, float(value(s))) for s in samples if s["target"] == target])
        for target in targets
    ]


def charts(results: Mapping[str, Any]) -> list[str]:
    """Throughput, p50, p99 and errors of the `wrk` samples, then the extra timeline's charts."""
    samples, events, timeline = results["samples"], results["events"], results.get("timeline", [])
    ends = [s["t"] + s["duration_s"] for s in samples] + [float(r["t"]) for r in timeline]
    x_max = max(ends, default=1.0)
    drawn = []
    if samples:
        throughput = _series(samples, lambda s: s["requests_per_s"])
        drawn.append(line_chart("Throughput", throughput, events, "requests/s", x_max))
        for pct in ("p50", "p99"):
            series = _series(samples, lambda s, p=pct: s["latency_ms"].get(p, 0.0))
            drawn.append(line_chart(f"Latency {pct}", series, events, "ms", x_max))
        errors = _series(
            samples, lambda s: sum(s["errors"].values()) / s["duration_s"] if s["duration_s"] else 0
        )
        drawn.append(line_chart("Errors", errors, events, "errors/s", x_max))
    keys = sorted({k for row in timeline for k in row if k != "t"})
    layout = results.get("timeline_charts") or [(k.replace("_", " ").capitalize(), [k], k) for k in keys]
    for title, chart_keys, unit in layout:
        series = [
            (key, [(float(r["t"]), float(r[key])) for r in timeline if r.get(key) is not None])
            for key in chart_keys
        ]
        drawn.append(line_chart(title, series, events, unit, x_max))
    return drawn


# ---- HTML ----------------------------------------------------------------------------------------------

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1000px;color:#222;padding:0 12px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#666}
pre{background:#f6f6f6;padding:8px;overflow:auto;font-size:12px}
svg.chart{display:block;margin:8px 0 16px;max-width:100%;height:auto}
svg .title{font-weight:600;font-size:13px}svg .tick,svg .legend{font-size:11px;fill:#444}
svg .frame{fill:none;stroke:#bbb}svg .grid{stroke:#eee}
svg .event line{stroke:#555;stroke-dasharray:4 3}svg .event text{font-size:10px;fill:#555}
"""


def _table(rows: Iterable[tuple[str, Any]], cls: str = "") -> str:
    body = "".join(
        f'<tr><th>{html.escape(str(k))}</th><td class="{cls}">{html.escape(str(v))}</td></tr>'
        for k, v in rows
    )
    return f"<table>{body}</table>"


def _summary_table(summaries: Mapping[str, Mapping[str, Any]]) -> str:
    head = (
        "<tr><th>target</th><th>req/s</th><th>requests</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th>"
        "<th>p99.9 ms</th><th>errors</th><th>errors by kind</th><th>statuses</th><th>MB/s</th></tr>"
    )
    rows = []
    for name, s in summaries.items():
        lat = s.get("latency_ms", {})
        kinds = ", ".join(f"{k} {v}" for k, v in s.get("errors", {}).items() if v) or "none"
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(s.get("statuses", {}).items()))
        cells = [s.get("requests_per_s"), s.get("requests")] + [
            lat.get(p) for p in ("p50", "p90", "p99", "p99.9")
        ]
        numbers = "".join(f'<td class="n">{html.escape(str(v))}</td>' for v in cells)
        rows.append(
            f"<tr><th>{html.escape(name)}</th>{numbers}<td class='n'>{s.get('error_count')}</td>"
            f"<td>{html.escape(kinds)}</td><td>{html.escape(statuses)}</td>"
            f"<td class='n'>{s.get('transfer_mb_per_s')}</td></tr>"
        )
    return f'<table class="summary">{head}{"".join(rows)}</table>'


def render_html(results: Mapping[str, Any]) -> str:
    """The whole report as one HTML document (inline CSS and SVG only)."""
    events = results["events"]
    config = json.dumps(results["config"], indent=2, sort_keys=True)
    event_rows = "".join(
        f"<tr><td class='n'>{n}</td><td class='n'>{e['t']:.2f}s</td>"
        f"<td>{html.escape(str(e['label']))}</td></tr>"
        for n, e in enumerate(events, 1)
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(results['title'])}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{html.escape(results['title'])}</h1>"
        f"<p class='muted'>scenario <b>{html.escape(results['scenario'])}</b>"
        f" · {html.escape(results['created'])}"
        f"{' · load by wrk in one-second slices, loopback only' if results['samples'] else ''}</p>"
        f"<h2>Figures</h2>{_table(sorted(results['figures'].items()), 'n')}"
        f"{'<h2>Per target</h2>' + _summary_table(results['summaries']) if results['summaries'] else ''}"
        f"<h2>Over time</h2>{''.join(charts(results)) or '<p>No per-second samples in this run.</p>'}"
        f"<h2>Events</h2>{f'<table>{event_rows}</table>' if events else '<p>none</p>'}"
        f"<h2>Configuration</h2><pre>{html.escape(config)}</pre>"
        f"<h2>Machine</h2>{_table(sorted(results['machine'].items()))}"
        "</body></html>\n"
    )
