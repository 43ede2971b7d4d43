"""The outcome report: one self-contained HTML page a coordinator reads at a glance.

Headline numbers, inline-SVG charts (rank distribution, travel times, placement rate by equity
flag) and an offline map (student origins and hosts, equirectangular, no tiles), then who is
unplaced and why, which extra seats would help, and how the solve went. No script, no external
asset: the file opens anywhere, prints cleanly, and can be mailed. Every piece of text from the
data is escaped. The map puts student homes on whole pixels (tens of metres on a city map), so
the file is as confidential as the roster it summarises.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from string import Template

from wbl.services.outcome import (
    KIND_LABELS,
    NO_FLAG,
    REASON_LABELS,
    UNRANKED,
    MapPoints,
    Outcome,
    blocking_note,
    describe_solve,
    format_minutes,
    format_number,
    format_share,
)

PLACED_COLOUR = "#1f5fa8"  # blue and orange stay distinct under the common colour blindnesses
UNPLACED_COLOUR = "#c2410c"
HOST_COLOUR = "#4b2a7b"
BAR_COLOUR = "#1f5fa8"
KM_PER_DEGREE = math.pi * 6371.0088 / 180  # along a meridian, mean Earth radius

_PAGE = Template("""\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a;
       background: #fff; margin: 0 auto; max-width: 60rem; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; border-bottom: 1px solid #ccc; }
.sub { color: #444; margin: 0 0 1rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(8.5rem, 1fr));
         gap: .75rem; margin: 1rem 0; padding: 0; }
.cards div { border: 1px solid #bbb; border-radius: .4rem; padding: .6rem .8rem; }
.cards dt { font-size: .85rem; color: #444; }
.cards dd { margin: 0; font-size: 1.45rem; font-weight: 600; }
.cards dd small { display: block; font-size: .8rem; font-weight: 400; color: #444; }
table { border-collapse: collapse; margin: .5rem 0; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
code { font-size: .9em; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid #ddd; text-align: left;
         vertical-align: top; }
th { background: #f2f2f2; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1rem 0; }
figcaption { font-size: .9rem; color: #444; }
svg { max-width: 100%; height: auto; }
svg text { font: 11px system-ui, sans-serif; fill: #1a1a1a; }
.legend { list-style: none; padding: 0; display: flex; gap: 1.2rem; flex-wrap: wrap;
          font-size: .9rem; }
.legend svg { vertical-align: middle; }
dl.solve { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; }
dl.solve dt { font-weight: 600; }
dl.solve dd { margin: 0; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(26rem, 1fr));
          gap: 1rem; }
@media print {
  body { font-size: 10.5pt; max-width: none; padding: 0; }
  h2 { break-after: avoid; }
  figure, table, .cards { break-inside: avoid; }
  th { background: none; }
}
</style>
</head>
<body>
<header>
<h1>$heading</h1>
<p class="sub">$subtitle</p>
</header>
<main>
$body
</main>
</body>
</html>
""")


def render_report(outcome: Outcome, points: MapPoints) -> str:
    """The outcome as one self-contained HTML page; ``points`` feed the map."""
    o = outcome
    title = f"Placement outcome: {o.term}"
    solve = describe_solve(o.solve)
    subtitle = (
        f"{o.start.isoformat()} to {o.end.isoformat()} ({o.timezone}). "
        f"{solve[:1].upper()}{solve[1:].rstrip('.')}."
    )
    body = "\n".join(
        [
            headline(o),
            kinds_table(o),
            '<section aria-labelledby="charts-h"><h2 id="charts-h">Charts</h2><div class="charts">',
            rank_chart(o),
            travel_chart(o),
            "</div>",
            flag_chart(o),
            flag_table(o),
            "</section>",
            map_figure(points),
            _unplaced_table(o),
            suggestions_table(o),
            solve_block(o),
        ]
    )
    return _PAGE.substitute(
        title=escape(title), heading=escape(title), subtitle=escape(subtitle), body=body
    )


# --- sections -------------------------------------------------------------------------------


def _card(label: str, value: str, note: str = "") -> str:
    small = f"<small>{escape(note)}</small>" if note else ""
    return f"<div><dt>{escape(label)}</dt><dd>{escape(value)}{small}</dd></div>"


def headline(o: Outcome) -> str:
    cards = [
        _card(
            "Placed",
            f"{o.placed} of {o.students}",
            f"{format_share(o.placed_share)} of students, {o.placements} placements",
        ),
        _card("Top-3 choice", format_share(o.top3_share), "of placed students"),
        _card(
            "Mean rank",
            "n/a" if o.mean_rank is None else f"{o.mean_rank:.1f}",
            f"{o.ranked_placements} ranked, {o.ranks[UNRANKED]} unranked",
        ),
        _card(
            "Travel, median",
            format_minutes(o.travel_median),
            f"p90 {format_minutes(o.travel_p90)}; {o.travel_placements} in-person placements",
        ),
        _card("Unplaced", str(len(o.unplaced)), "students with no placement"),
        _card(
            "Solve",
            o.solve.status if o.solve else "not run",
            f"run #{o.solve.run_id}" if o.solve else "",
        ),
    ]
    return (
        '<section aria-labelledby="headline-h"><h2 id="headline-h">At a glance</h2>'
        f'<dl class="cards">{"".join(cards)}</dl></section>'
    )


def _table(caption: str, headers: Sequence[tuple[str, bool]], rows: Sequence[Sequence[str]]) -> str:
    """A table; each header says whether its column is numeric (right-aligned)."""
    head = "".join(
        f'<th scope="col"{" class=n" if numeric else ""}>{escape(h)}</th>' for h, numeric in headers
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=n' if numeric else ''}>{escape(cell)}</td>"
            for cell, (_, numeric) in zip(row, headers, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f"<table><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def kinds_table(o: Outcome) -> str:
    rows = [[KIND_LABELS[kind], str(k.placements), str(k.students)] for kind, k in o.kinds.items()]
    table = _table(
        "Placements and placed students per kind of opportunity",
        [("Kind", False), ("Placements", True), ("Students", True)],
        rows,
    )
    return f'<section aria-labelledby="kinds-h"><h2 id="kinds-h">By kind</h2>{table}</section>'


def _unplaced_table(o: Outcome) -> str:
    if not o.unplaced:
        inner = "<p>Every student has a placement.</p>"
    else:
        reasons = _table(
            "Unplaced students by reason",
            [("Reason", False), ("Code", False), ("Students", True)],
            [
                [REASON_LABELS.get(reason, reason), reason, str(n)]
                for reason, n in o.unplaced_reasons.items()
            ],
        )
        inner = reasons + _table(
            f"{len(o.unplaced)} students with no placement, and why",
            [("Student", False), ("Name", False), ("Reason", False), ("Detail", False)],
            [[u.student_id, u.name, u.reason, u.detail] for u in o.unplaced],
        )
    return (
        f'<section aria-labelledby="unplaced-h"><h2 id="unplaced-h">Unplaced '
        f"({len(o.unplaced)})</h2>{inner}</section>"
    )


def suggestions_table(o: Outcome) -> str:
    if not o.suggestions:
        inner = "<p>The solve suggested no extra seats.</p>"
    else:
        inner = _table(
            "Extra seats that would place the most students",
            [
                ("Opportunity", False),
                ("Title", False),
                ("Host", False),
                ("Extra seats", True),
                ("Would place", True),
            ],
            [
                [
                    s.opportunity_id,
                    s.title,
                    f"{s.host_id} {s.host_name}",
                    str(s.extra_seats),
                    str(s.would_place),
                ]
                for s in o.suggestions
            ],
        )
    return (
        '<section aria-labelledby="suggest-h"><h2 id="suggest-h">Suggested extra seats</h2>'
        f"{inner}</section>"
    )


def solve_block(o: Outcome) -> str:
    s = o.solve
    if s is None:
        inner = "<p>No solve has run for this term yet.</p>"
    else:

        def opt(value: int | None) -> str:
            return "n/a" if value is None else str(value)

        pairs = _joined(opt(s.blocking_pairs), blocking_note(s.mode, s.blocking_pairs))
        items = [
            ("Run", f"#{s.run_id} ({s.mode} mode)"),
            ("Status", s.status),
            ("Objective", format_number(s.objective)),
            ("Best bound", format_number(s.best_bound)),
            ("Gap", format_share(s.gap)),
            ("Wall time", "n/a" if s.wall_time_s is None else f"{s.wall_time_s:.1f} s"),
            ("Blocking pairs", pairs),
            ("Students moved", opt(s.moved)),
            ("Started", s.started_at.strftime("%Y-%m-%d %H:%M UTC")),
        ]
        if s.message:
            items.append(("Message", s.message))
        inner = (
            '<dl class="solve">'
            + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in items)
            + "</dl>"
        )
    return f'<section aria-labelledby="solve-h"><h2 id="solve-h">Solve</h2>{inner}</section>'


def _joined(*parts: str) -> str:
    return ": ".join(p for p in parts if p)


def flag_table(o: Outcome) -> str:
    return _table(
        "Placement rate by equity flag (a student with several flags counts in each)",
        [("Flag", False), ("Students", True), ("Placed", True), ("Rate", True)],
        [
            [name if name != NO_FLAG else "none (no flag)", str(f.students), str(f.placed),
             format_share(f.rate)]
            for name, f in o.flags.items()
        ],
    )  # fmt: skip


# --- charts ---------------------------------------------------------------------------------


def _svg_open(ident: str, width: int, height: int, title: str, desc: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{ident}-t {ident}-d">'
        f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(desc)}</desc>'
    )


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{escape(caption)}</figcaption></figure>"


def _nice_ceiling(value: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... that is at least ``value`` (and at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return int(step * power)
    return int(10 * power)  # pragma: no cover - the loop always returns


def _column_chart(
    ident: str,
    title: str,
    bars: Sequence[tuple[str, int]],
    *,
    x_label: str,
    y_label: str,
    label_every: int = 1,
) -> str:
    """Vertical bars with their counts written on top, for reading on paper too."""
    width, height = 440, 240
    left, right, top, bottom = 40, 10, 18, 42
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_ceiling(max((v for _, v in bars), default=0))
    desc = "; ".join(f"{label}: {value}" for label, value in bars) or "no data"
    parts = [_svg_open(ident, width, height, title, desc)]
    for tick in (0, peak / 2, peak):
        y = top + plot_h - plot_h * tick / peak
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#ddd"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{format_number(tick)}</text>'
        )
    step = plot_w / max(1, len(bars))
    bar_w = max(1.0, step * 0.8)
    for i, (label, value) in enumerate(bars):
        x = left + i * step + (step - bar_w) / 2
        h = plot_h * value / peak
        y = top + plot_h - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
            f'fill="{BAR_COLOUR}"><title>{escape(label)}: {value}</title></rect>'
        )
        if value and step >= 14:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle">{value}</text>'
            )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 14}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts.append(
        f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" '
        'stroke="#444"/>'
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
        f'<text x="12" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 12 {top + plot_h / 2:.1f})">{escape(y_label)}</text>'
        "</svg>"
    )
    return "".join(parts)


def rank_chart(o: Outcome) -> str:
    bars = list(o.ranks.items())
    if not o.placements:
        return _figure(_empty_svg("rank", "Rank distribution", "no placements"), "Ranks: none")
    svg = _column_chart(
        "rank",
        "Placements by the rank the student gave the opportunity",
        bars,
        x_label="rank (1 = first choice)",
        y_label="placements",
        label_every=math.ceil(len(bars) / 12),
    )
    return _figure(svg, "Rank distribution: how far down their list students were placed.")


def travel_chart(o: Outcome) -> str:
    if not o.travel_histogram:
        return _figure(
            _empty_svg("travel", "Travel times", "no in-person placements"), "Travel: none"
        )
    bars = [(f"{start}–{start + 5}", n) for start, n in o.travel_histogram]
    svg = _column_chart(
        "travel",
        "In-person placements by one-way travel time, in 5-minute bins",
        bars,
        x_label="minutes of travel, one way",
        y_label="placements",
        label_every=math.ceil(len(bars) / 8),
    )
    caption = (
        f"Travel time: median {format_minutes(o.travel_median)}, "
        f"90th percentile {format_minutes(o.travel_p90)}."
    )
    return _figure(svg, caption)


def flag_chart(o: Outcome) -> str:
    """Horizontal bars of the placement rate per flag, against the rate for everyone."""
    rows = list(o.flags.items())
    label_w = max(90, 7 * max(len(name) for name, _ in rows) + 10)
    width, row_h, top = 640, 26, 24
    plot_w = width - label_w - 150
    height = top + row_h * len(rows) + 12
    desc = "; ".join(f"{name}: {format_share(f.rate)} of {f.students} placed" for name, f in rows)
    parts = [
        _svg_open("flags", width, height, "Placement rate by equity flag", desc),
    ]
    overall_x = label_w + plot_w * o.placed_share
    for i, (name, f) in enumerate(rows):
        y = top + i * row_h
        shown = "none (no flag)" if name == NO_FLAG else name
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(shown)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{plot_w}" height="{row_h - 8}" '
            'fill="#eee"/>'
            f'<rect x="{label_w}" y="{y + 4}" width="{plot_w * f.rate:.1f}" '
            f'height="{row_h - 8}" fill="{BAR_COLOUR}">'
            f"<title>{escape(shown)}: {f.placed} of {f.students} placed</title></rect>"
            f'<text x="{label_w + plot_w + 6}" y="{y + 15}">'
            f"{format_share(f.rate)} ({f.placed}/{f.students})</text>"
        )
    parts.append(
        f'<line x1="{overall_x:.1f}" x2="{overall_x:.1f}" y1="{top - 6}" '
        f'y2="{height - 8}" stroke="#111" stroke-dasharray="4 3"/>'
        f'<text x="{overall_x:.1f}" y="{top - 9}" text-anchor="middle">'
        f"all students {format_share(o.placed_share)}</text></svg>"
    )
    return _figure(
        "".join(parts),
        "Placement rate by equity flag; the dashed line is the rate over all students.",
    )


def _empty_svg(ident: str, title: str, note: str) -> str:
    return (
        _svg_open(ident, 440, 60, title, note)
        + f'<text x="220" y="34" text-anchor="middle">{escape(note)}</text></svg>'
    )


# --- map ------------------------------------------------------------------------------------


def _nice_length(km: float) -> float:
    """The largest of ..., 0.5, 1, 2, 5, 10, ... km not above ``km``."""
    power = 10 ** math.floor(math.log10(km))
    return max(step * power for step in (1, 2, 5) if step * power <= km)


def map_figure(points: MapPoints) -> str:
    """Students and hosts on an equirectangular projection, with a scale bar; no tiles."""
    everything = [(lat, lon) for lat, lon, _ in points.students] + [
        (h.lat, h.lon) for h in points.hosts
    ]
    heading = '<section aria-labelledby="map-h"><h2 id="map-h">Map</h2>'
    if not everything:
        return heading + "<p>Nothing to map.</p></section>"
    lats = [p[0] for p in everything]
    lons = [p[1] for p in everything]
    mid_lat = (min(lats) + max(lats)) / 2
    # Equirectangular: x is longitude shrunk by cos(latitude) at the middle, y is latitude.
    shrink = math.cos(math.radians(mid_lat))
    min_span = 0.01  # degrees (about 1 km): a single point still gets a sensible scale
    span_x = max((max(lons) - min(lons)) * shrink, min_span)
    span_y = max(max(lats) - min(lats), min_span)
    width, pad = 640, 24
    height = int(min(640, max(260, (width - 2 * pad) * span_y / span_x + 2 * pad + 30)))
    scale = min((width - 2 * pad) / span_x, (height - 2 * pad - 30) / span_y)  # px per degree
    centre_x = (min(lons) + max(lons)) / 2 * shrink
    centre_y = (min(lats) + max(lats)) / 2

    def project(lat: float, lon: float) -> tuple[float, float]:
        return (
            width / 2 + (lon * shrink - centre_x) * scale,
            (height - 30) / 2 - (lat - centre_y) * scale,
        )

    placed = sum(1 for *_, is_placed in points.students if is_placed)
    unplaced = len(points.students) - placed
    desc = (
        f"{placed} placed and {unplaced} unplaced student origins, and {len(points.hosts)} "
        "hosts sized by their number of placements"
    )
    parts = [_svg_open("map", width, height, "Map of student origins and hosts", desc)]
    parts.append(
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fafafa" stroke="#ccc"/>'
    )
    for h in sorted(points.hosts, key=lambda h: -h.placements):
        x, y = project(h.lat, h.lon)
        r = 3 + 2.2 * math.sqrt(h.placements)
        fill = HOST_COLOUR if h.placements else "none"
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{fill}" fill-opacity=".35" '
            f'stroke="{HOST_COLOUR}" stroke-width="1.2"><title>{escape(h.host_id)} '
            f"{escape(h.name)}: {h.placements} placements</title></circle>"
        )
    dots = []
    triangles = []
    for lat, lon, is_placed in points.students:
        # Whole pixels: enough to see the pattern, no finer than the map can show.
        x, y = (round(v) for v in project(lat, lon))
        if is_placed:
            dots.append(f'<circle cx="{x}" cy="{y}" r="2.2"/>')
        else:
            # A triangle as well as a colour, so the two stay apart in greyscale print.
            triangles.append(f"M{x} {y - 3.5}l3 5.5h-6z")
    parts.append(f'<g fill="{PLACED_COLOUR}" fill-opacity=".8">{"".join(dots)}</g>')
    if triangles:
        parts.append(f'<path fill="{UNPLACED_COLOUR}" d="{"".join(triangles)}"/>')

    px_per_km = scale / KM_PER_DEGREE
    km = _nice_length((width / 5) / px_per_km)
    bar = km * px_per_km
    label = f"{km:g} km" if km >= 1 else f"{km * 1000:g} m"
    y0 = height - 14
    parts.append(
        f'<g stroke="#111" stroke-width="1.5"><line x1="{pad}" x2="{pad + bar:.1f}" '
        f'y1="{y0}" y2="{y0}"/><line x1="{pad}" x2="{pad}" y1="{y0 - 4}" y2="{y0 + 4}"/>'
        f'<line x1="{pad + bar:.1f}" x2="{pad + bar:.1f}" y1="{y0 - 4}" y2="{y0 + 4}"/></g>'
        f'<text x="{pad + bar + 6:.1f}" y="{y0 + 4}">{label}</text>'
        f'<text x="{width - pad}" y="{y0 + 4}" text-anchor="end">N ↑ · equirectangular, '
        "no basemap</text></svg>"
    )
    legend = (
        '<ul class="legend">'
        f'<li><svg width="12" height="12" aria-hidden="true"><circle cx="6" cy="6" r="3" '
        f'fill="{PLACED_COLOUR}"/></svg> placed student ({placed})</li>'
        f'<li><svg width="12" height="12" aria-hidden="true"><path d="M6 1l5 9h-10z" '
        f'fill="{UNPLACED_COLOUR}"/></svg> unplaced student ({unplaced})</li>'
        f'<li><svg width="16" height="16" aria-hidden="true"><circle cx="8" cy="8" r="6" '
        f'fill="{HOST_COLOUR}" fill-opacity=".35" stroke="{HOST_COLOUR}"/></svg> host, '
        "sized by placements (hollow: none)</li></ul>"
    )
    return (
        heading
        + _figure(
            "".join(parts),
            "Where students start from and where hosts are (one pixel is about "
            f"{1000 / px_per_km:.0f} m). Student markers are home locations at map resolution: "
            "share this report as you would the roster.",
        )
        + legend
        + "</section>"
    )
