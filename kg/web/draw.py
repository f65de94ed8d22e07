"""Drawings for the entity pages, as inline SVG written on the server: a bar chart of
papers per year and a co-author network laid out by a small force simulation.

Hand-written rather than a charting library: two drawings need ~150 lines, the pages
stay readable without script, nothing is vendored, and the same store always gives the
same picture (the layout starts from fixed positions and has no randomness). Colours
and fonts are SVG attributes and style.css classes: the CSP allows no inline style.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def year_bars(counts: dict[int, tuple[int, int]], label: str = "papers per year", legend: bool = True) -> str:
    """Bars per year, every year from the first to the last (gaps drawn as empty), each
    split into papers as first author (dark) and in another byline position (light).
    `counts` maps a year to (first-author papers, other papers); without `legend`,
    only the first number is drawn, as plain papers."""
    if not counts:
        return '<p class="hint">No paper has a year.</p>'
    years = list(range(min(counts), max(counts) + 1))
    top = max(sum(counts.get(y, (0, 0))) for y in years)
    bar, gap, left, plot_h, top_pad, bottom = 28, 14, 34, 120, 18, 40
    width = max(left + len(years) * (bar + gap) + gap, 240 if legend else 120)  # room for the legend
    height = top_pad + plot_h + bottom
    scale = plot_h / top
    parts = [(f'<svg class="chart bars" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" aria-label="{_e(label)}"><title>{_e(label)}</title>')]
    base = top_pad + plot_h
    for tick in sorted({0, top // 2, top}):  # a light grid line at 0, half and the maximum
        y = base - tick * scale
        parts.append(f'<line class="grid" x1="{left - 4}" x2="{width}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text class="axis" x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    for i, year in enumerate(years):
        first, other = counts.get(year, (0, 0))
        x = left + gap + i * (bar + gap)
        y = base
        for n, css, what in ((first, "first", "as first author" if legend else ""),
                             (other, "other", "in another position")):
            if n:
                h = n * scale
                y -= h
                parts.append(f'<rect class="bar {css}" data-year="{year}" x="{x}" y="{y:.1f}" width="{bar}" '
                             f'height="{h:.1f}"><title>{year}: {n} {"paper" if n == 1 else "papers"} '
                             f'{what}</title></rect>'.replace(" </title>", "</title>"))
        if first + other:
            parts.append(f'<text class="value" x="{x + bar / 2}" y="{y - 4:.1f}" text-anchor="middle">'
                         f"{first + other}</text>")
        parts.append(f'<text class="axis" x="{x + bar / 2}" y="{base + 16}" text-anchor="middle">{year}</text>')
    legend_y = base + 32
    if legend:
        parts.append(f'<rect class="bar first" x="{left}" y="{legend_y - 9}" width="10" height="10"/>'
                     f'<text class="axis" x="{left + 14}" y="{legend_y}">first author</text>'
                     f'<rect class="bar other" x="{left + 96}" y="{legend_y - 9}" width="10" height="10"/>'
                     f'<text class="axis" x="{left + 110}" y="{legend_y}">other position</text>')
    parts.append("</svg>")
    return "".join(parts)


@dataclass
class Node:
    key: str  # an IRI
    label: str
    href: str
    weight: int  # papers with the centre (the centre: its own papers)


def force_layout(count: int, edges: list[tuple[int, int, int]], iterations: int = 300) -> list[tuple[float, float]]:
    """Positions for `count` nodes, node 0 pinned at the centre (Fruchterman-Reingold:
    every pair repels, edges attract, more strongly the more papers they stand for).
    Starts from a circle in a fixed order, so the layout is the same every time."""
    if count == 1:
        return [(0.0, 0.0)]
    k = 1.0 / math.sqrt(count)  # the ideal distance in a unit square
    pos = [(0.0, 0.0)] + [(0.5 * math.cos(2 * math.pi * i / (count - 1)), 0.5 * math.sin(2 * math.pi * i / (count - 1)))
                          for i in range(count - 1)]
    temperature = 0.1
    for step in range(iterations):
        disp = [[0.0, 0.0] for _ in range(count)]
        for i in range(count):
            xi, yi = pos[i]
            for j in range(i + 1, count):
                dx, dy = xi - pos[j][0], yi - pos[j][1]
                d2 = max(dx * dx + dy * dy, 1e-6)
                f = k * k / d2  # repulsion k²/d, as a factor on (dx, dy) / d
                disp[i][0] += dx * f
                disp[i][1] += dy * f
                disp[j][0] -= dx * f
                disp[j][1] -= dy * f
        for a, b, w in edges:
            dx, dy = pos[a][0] - pos[b][0], pos[a][1] - pos[b][1]
            d = max(math.hypot(dx, dy), 1e-3)
            f = d / k * (1 + math.log(w))  # attraction d²/k, stronger for more joint papers
            disp[a][0] -= dx * f
            disp[a][1] -= dy * f
            disp[b][0] += dx * f
            disp[b][1] += dy * f
        for i in range(1, count):  # the centre stays put
            dx, dy = disp[i]
            d = max(math.hypot(dx, dy), 1e-9)
            step_len = min(d, temperature)
            x = pos[i][0] + dx / d * step_len
            y = pos[i][1] + dy / d * step_len
            pos[i] = (x, y)
        temperature = 0.1 * (1 - (step + 1) / iterations) + 0.002
    return pos


def network(centre: Node, others: list[Node], links: list[tuple[str, str, int]],
            label: str = "co-author network") -> str:
    """The centre and the people around it; `links` are (key, key, joint papers). Each
    node links to its page; edge width and node size grow with the number of papers."""
    nodes = [centre, *others]
    index = {n.key: i for i, n in enumerate(nodes)}
    edges = [(index[a], index[b], w) for a, b, w in links if a in index and b in index]
    pos = force_layout(len(nodes), edges)
    width, height = 760, 520 if len(nodes) > 12 else 400
    xs, ys = [p[0] for p in pos], [p[1] for p in pos]
    span_x, span_y = max(max(xs) - min(xs), 1e-6), max(max(ys) - min(ys), 1e-6)
    # wider than tall, as the labels are: x may stretch up to 1.6 times y
    scale_y = (height - 60) / span_y
    scale_x = min((width - 240) / span_x, 1.6 * scale_y)
    scale_y = min(scale_y, 1.6 * scale_x)
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    at = [(width / 2 + (x - cx) * scale_x, height / 2 + (y - cy) * scale_y) for x, y in pos]
    parts = [(f'<svg class="chart network" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" aria-label="{_e(label)}"><title>{_e(label)}</title><g class="edges">')]
    for a, b, w in edges:
        (x1, y1), (x2, y2) = at[a], at[b]
        css = "edge centre" if a == 0 or b == 0 else "edge"
        parts.append(f'<line class="{css}" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                     f'stroke-width="{min(1 + math.log2(w), 5):.1f}"><title>{_e(nodes[a].label)} and '
                     f'{_e(nodes[b].label)}: {w} {"paper" if w == 1 else "papers"} together</title></line>')
    parts.append('</g><g class="nodes">')
    for i, (node, (x, y)) in enumerate(zip(nodes, at)):
        r = 9 if i == 0 else 4 + 2 * math.sqrt(node.weight)
        anchor = "end" if x < width / 2 - 5 else "start"
        dx = -(r + 3) if anchor == "end" else r + 3
        what = f"{node.weight} {'paper' if node.weight == 1 else 'papers'}" + ("" if i == 0 else " together")
        parts.append(f'<a class="node{" centre" if i == 0 else ""}" href="{_e(node.href)}" data-key="{_e(node.key)}">'
                     f"<title>{_e(node.label)}: {what}</title>"
                     f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}"/>'
                     f'<text x="{x + dx:.1f}" y="{y + 4:.1f}" text-anchor="{anchor}">{_e(node.label)}</text></a>')
    parts.append("</g></svg>")
    return "".join(parts)
