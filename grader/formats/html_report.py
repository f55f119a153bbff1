"""The HTML report: one self-contained page a student would rather look at than read.

`python -m grader` writes it to grading-results/report.html (`--no-report` turns it off): the
score table, each failing test's message and, for each concurrency failure, its witness drawn
as an SVG timeline (one lane per process, lock holds as bars, the racing reads and writes
marked, a deadlock's wait-for cycle as arrows) next to the numbered steps.

Inline CSS and inline SVG only: no scripts, fonts or anything fetched, so it opens offline
and can be uploaded as a CI artifact. Colours follow `prefers-color-scheme` (dark and light).
The markup is well-formed XML, so the self-check parses it with the standard library.
"""

from __future__ import annotations

import sys
from html import escape
from pathlib import Path
from typing import Any

from grader.grading.results import ExerciseResult, GradeReport, TestResult, format_points

REPORT_FILE = Path("grading-results") / "report.html"
# A few words under a mark, when the step has no label of its own.
KIND_LABELS = {"acquire": "takes", "release": "releases", "wait": "waits", "exit": "ends, still holding it", "stop": "asks again"}

LANE_HEIGHT = 80
LABEL_WIDTH = 56
PLOT_WIDTH = 640
TOP = 30
MARK_RADIUS = 10

CSS = """
body { background: #ffffff; color: #1f2328; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif;
  margin: 0 auto; max-width: 60rem; padding: 1.5rem; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
h3 { font-size: 1rem; margin: 0 0 .5rem; }
.muted { color: #59636e; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #d1d9e0; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.status-passed { color: #1a7f37; font-weight: 600; } .status-partial { color: #9a6700; font-weight: 600; }
.status-failed, .status-error, .status-timeout, .status-not_run { color: #cf222e; font-weight: 600; }
.failure { background: #f6f8fa; border: 1px solid #d1d9e0; border-radius: 8px; padding: 1rem; margin: 1rem 0; }
pre { white-space: pre-wrap; font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; margin: .5rem 0; }
code { font: 13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
ol.steps { padding-left: 1.6rem; } ol.steps li { margin: .15rem 0; }
.role-race, .role-lost, .role-act { color: #cf222e; } .role-check { color: #0969da; }
.role-interfere { color: #bc4c00; } .role-cycle { color: #8250df; }
svg.timeline { width: 100%; height: auto; max-width: 48rem; display: block; margin: .5rem 0;
  background: #ffffff; border-radius: 6px; }
svg text { fill: #1f2328; font: 12px system-ui, sans-serif; }
svg .lane-line { stroke: #d1d9e0; stroke-width: 1; }
svg .lane-label { font-weight: 700; font-size: 14px; }
svg .bar { fill: #8fb8e8; } svg .bar.open { fill: #e8a33d; }
svg .bar-label, svg .mark-label, svg .axis { font-size: 11px; }
svg .axis { fill: #59636e; }
svg .mark { stroke: #ffffff; stroke-width: 2; fill: #59636e; }
svg .mark.role-race, svg .mark.role-lost, svg .mark.role-act { fill: #cf222e; }
svg .mark.role-check { fill: #0969da; } svg .mark.role-interfere { fill: #bc4c00; }
svg .mark.role-cycle { fill: #8250df; }
svg .mark-number { fill: #ffffff; font-size: 11px; font-weight: 700; }
svg text.role-race, svg text.role-lost, svg text.role-act { fill: #cf222e; } svg text.role-check { fill: #0969da; }
svg text.role-interfere { fill: #bc4c00; } svg text.role-cycle { fill: #8250df; }
svg .edge { stroke: #8250df; stroke-width: 2; fill: none; } svg .arrow { fill: #8250df; }
@media (prefers-color-scheme: dark) {
  body { background: #0d1117; color: #e6edf3; } .muted, svg .axis { color: #9198a1; fill: #9198a1; }
  th, td { border-color: #3d444d; } .failure { background: #151b23; border-color: #3d444d; }
  .status-passed { color: #3fb950; } .status-partial { color: #d29922; }
  .status-failed, .status-error, .status-timeout, .status-not_run { color: #f85149; }
  .role-race, .role-lost, .role-act { color: #ff7b72; } .role-check { color: #58a6ff; }
  .role-interfere { color: #ffa657; } .role-cycle { color: #d2a8ff; }
  svg.timeline { background: #0d1117; } svg text { fill: #e6edf3; } svg .lane-line { stroke: #3d444d; }
  svg .bar { fill: #2f5d8f; } svg .bar.open { fill: #9e6a03; }
  svg .mark { stroke: #0d1117; fill: #9198a1; }
  svg .mark.role-race, svg .mark.role-lost, svg .mark.role-act { fill: #f85149; }
  svg .mark.role-check { fill: #388bfd; } svg .mark.role-interfere { fill: #db6d28; }
  svg .mark.role-cycle { fill: #a371f7; } svg .mark-number { fill: #ffffff; }
  svg text.role-race, svg text.role-lost, svg text.role-act { fill: #ff7b72; } svg text.role-check { fill: #58a6ff; }
  svg text.role-interfere { fill: #ffa657; } svg text.role-cycle { fill: #d2a8ff; }
  svg .edge { stroke: #d2a8ff; } svg .arrow { fill: #d2a8ff; }
}
"""


def _status(status: str) -> str:
    return f'<span class="status-{escape(status)}">{escape(status.replace("_", " "))}</span>'


def render_html(report: GradeReport) -> str:
    """The whole page as text."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"/>',
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>',
        f"<title>Grading report: {escape(format_points(report.score))} / "
        f"{escape(format_points(report.max_score))}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{escape(format_points(report.score))} / {escape(format_points(report.max_score))} points</h1>",
        f'<p class="muted">Graded: <code>{escape(report.target)}</code>. '
        + ("Full marks." if report.full_marks else
           f"Next to fix: <strong>{escape(report.next_exercise.title if report.next_exercise else '')}</strong>.")
        + "</p>",
        _score_table(report),
    ]
    if report.tampered:
        parts.append(f'<p class="status-failed">Changed files that decide the grade: '
                     f'{escape(", ".join(report.tampered))}</p>')
    failing = [(e, t) for e in report.exercises for t in e.failing_tests()]
    if failing:
        parts.append("<h2>What went wrong</h2>")
    for number, (exercise, test) in enumerate(failing, 1):
        parts.append(_failure(exercise, test, f"w{number}"))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _score_table(report: GradeReport) -> str:
    rows = ["<table><thead><tr><th>exercise</th><th>status</th><th>points</th><th>first thing to fix</th>"
            "</tr></thead><tbody>"]
    for exercise in report.exercises:
        where = f" <code>{escape(exercise.location)}</code>" if exercise.location and not exercise.full_marks else ""
        rows.append(
            f"<tr><td>{escape(exercise.title)}<br/><span class=\"muted\">{escape(exercise.name)}</span></td>"
            f"<td>{_status(exercise.status)}</td>"
            f'<td class="num">{escape(format_points(exercise.score))} / {escape(format_points(exercise.max_score))}</td>'
            f"<td>{escape(exercise.first_line)}{where}</td></tr>"
        )
    rows.append("</tbody></table>")
    return "".join(rows)


def _failure(exercise: ExerciseResult, test: TestResult, ident: str) -> str:
    head = f"{exercise.name}: {test.name}"
    where = f' at <code>{escape(test.location)}</code>' if test.location else ""
    concept = f' <span class="muted">({escape(test.concept)})</span>' if test.concept else ""
    parts = [f'<section class="failure"><h3>{escape(head)}{concept}</h3>',
             f"<p>{_status(test.status)}{where}</p>"]
    witness = test.witness or {}
    message = test.message
    text = str(witness.get("text") or "")
    if text and text in message:  # shown below as a picture and a list instead
        message = message.replace(text, "").rstrip()
    parts.append(f"<pre>{escape(message)}</pre>")
    if witness:
        parts.append(_witness(witness, ident))
    parts.append("</section>")
    return "\n".join(parts)


def _witness(witness: dict[str, Any], ident: str) -> str:
    if not witness.get("drawn", True):
        return f'<p class="muted">No timeline to show: {escape(str(witness.get("note", "")))}</p>'
    file = witness.get("file")
    parts = ["<p><strong>What happened in this run</strong>"
             + (f" in <code>{escape(str(file))}</code>" if file else "") + ", from its journal:</p>",
             timeline_svg(witness, ident), '<ol class="steps">']
    for step in witness.get("steps", ()):
        site = f' <code>{escape(str(step["site"]))}</code>' if step.get("site") else ""
        parts.append(f'<li class="role-{escape(str(step.get("role", "")))}">{escape(str(step["text"]))}{site}</li>')
    parts.append("</ol>")
    if witness.get("note"):
        parts.append(f"<p>{escape(str(witness['note']))}</p>")
    return "\n".join(parts)


def _positions(witness: dict[str, Any]) -> dict[int, float]:
    """x of each moment: events in their order, evenly spaced (the order matters, not the
    microseconds between them), so a schedule is legible however the times cluster."""
    moments = {int(s["t"]) for s in witness.get("steps", ()) if s.get("t")}
    for bar in witness.get("bars", ()):
        moments.add(int(bar["start"]))
        if bar.get("end") is not None:
            moments.add(int(bar["end"]))
    ordered = sorted(moments)
    if not ordered:
        return {}
    step = PLOT_WIDTH / (len(ordered) + 1)
    return {t: LABEL_WIDTH + step * (i + 1) for i, t in enumerate(ordered)}


def timeline_svg(witness: dict[str, Any], ident: str = "w") -> str:
    """The witness as an SVG timeline: one lane per process, holds as bars, steps as marks."""
    lanes = list(witness.get("lanes", ()))
    x_of = _positions(witness)
    height = TOP + 10 + LANE_HEIGHT * len(lanes) + 24
    width = LABEL_WIDTH + PLOT_WIDTH + 150  # room on the right for a deadlock's arrow labels
    y_of = {lane: TOP + 10 + LANE_HEIGHT * i + LANE_HEIGHT / 2 for i, lane in enumerate(lanes)}
    end_x = LABEL_WIDTH + PLOT_WIDTH
    title = f"Timeline of the {witness.get('concept', '')} in this run, one lane per process"
    out = [f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'role="img" aria-label="{escape(title)}">',
           f"<title>{escape(title)}</title>",
           f'<defs><marker id="{ident}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path class="arrow" d="M 0 0 L 10 5 L 0 10 z"/>'
           "</marker></defs>",
           f'<text class="axis" x="{LABEL_WIDTH}" y="16">time: events in the order they happened '
           "(not to scale) →</text>"]
    for lane in lanes:
        y = y_of[lane]
        out.append(f'<g class="lane" data-lane="{escape(lane)}">')
        out.append(f'<line class="lane-line" x1="{LABEL_WIDTH}" y1="{y + 4:.1f}" x2="{end_x}" y2="{y + 4:.1f}"/>')
        out.append(f'<text class="lane-label" x="8" y="{y + 9:.1f}">{escape(lane)}</text>')
        for bar in (b for b in witness.get("bars", ()) if b["lane"] == lane):
            x1 = x_of.get(int(bar["start"]), LABEL_WIDTH)
            still_held = bar.get("end") is None
            x2 = end_x if still_held else x_of.get(int(bar["end"]), end_x)
            label = f"{bar['lock']}" + (" held, never released" if still_held else " held")
            tip = f"{lane} holds {bar['lock']}" + (f" from {bar['site']}" if bar.get("site") else "") + (
                ", never released" if still_held else "")
            out.append(f'<rect class="bar{" open" if still_held else ""}" x="{x1:.1f}" y="{y - 22:.1f}" '
                       f'width="{max(x2 - x1, 4):.1f}" height="10" rx="3"><title>{escape(tip)}</title></rect>')
            out.append(f'<text class="bar-label" x="{x1 + 2:.1f}" y="{y - 26:.1f}">{escape(label)}</text>')
        out.append("</g>")
    steps = list(witness.get("steps", ()))
    for edge in witness.get("edges", ()):
        waiter = next((s for s in steps if s["lane"] == edge["waiter"] and s.get("kind") == "wait"), None)
        if waiter is None or edge["holder"] not in y_of or not waiter.get("t"):
            continue
        x = x_of.get(int(waiter["t"]), end_x) + 4
        y1, y2 = y_of[edge["waiter"]], y_of[edge["holder"]]
        if y2 > y1:  # from under the waiting mark down to the top of the holder's bar
            start, end, bulge = y1 + 16, y2 - 24, 44
        else:  # from above the waiting mark up to the underside of the holder's bar
            start, end, bulge = y1 - 8, y2 - 10, 44
        out.append(f'<path class="edge" d="M {x:.1f} {start:.1f} C {x + bulge:.1f} {start:.1f}, '
                   f'{x + bulge:.1f} {end:.1f}, {x + 2:.1f} {end:.1f}" marker-end="url(#{ident}-arrow)">'
                   f'<title>{escape(edge["waiter"])} waits for {escape(edge["lock"])}, held by '
                   f'{escape(edge["holder"])}</title></path>')
        out.append(f'<text class="mark-label" x="{x + bulge - 6:.1f}" y="{(start + end) / 2 + 4:.1f}">'
                   f'waits for {escape(edge["lock"])}</text>')
    placed: dict[str, int] = {}
    for number, step in enumerate(steps, 1):
        if step["lane"] not in y_of:
            continue
        x = x_of.get(int(step.get("t") or 0), end_x - 12 * (len(steps) - number))
        y = y_of[step["lane"]] + 4
        tip = step["text"] + (f" ({step['site']})" if step.get("site") else "")
        role = escape(str(step.get("role", "")))
        label = step.get("label") or KIND_LABELS.get(str(step.get("kind")), "")
        if step.get("kind") == "wait" and any(e["waiter"] == step["lane"] for e in witness.get("edges", ())):
            label = ""  # its arrow says it
        row = placed.get(step["lane"], 0)
        placed[step["lane"]] = row + 1
        out.append(f'<g class="step"><circle class="mark role-{role}" cx="{x:.1f}" cy="{y:.1f}" '
                   f'r="{MARK_RADIUS}"><title>{escape(tip)}</title></circle>'
                   f'<text class="mark-number" x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle">{number}</text>'
                   f'<text class="mark-label role-{role}" x="{x:.1f}" y="{y + 25 + 12 * (row % 2):.1f}" '
                   f'text-anchor="middle">{escape(label)}</text></g>')
    out.append(f'<text class="axis" x="{LABEL_WIDTH}" y="{height - 8}">bars: a lock held · numbered marks: the '
               "steps listed below, in the order they happened</text>")
    out.append("</svg>")
    return "\n".join(out)


def write_html(report: GradeReport, path: Path) -> Path:
    """Write the report (creating its directory); returns the path written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
    return path


def report_and_say_where(report: GradeReport, root: Path) -> Path | None:
    """Write root/grading-results/report.html and print its path on stderr (stdout stays the
    table and the workflow commands). A report that cannot be written never fails a grading."""

    path = root / REPORT_FILE
    try:
        write_html(report, path)
    except OSError as error:
        print(f"grader: could not write the report {path}: {error}", file=sys.stderr)
        return None
    try:
        shown = path.relative_to(Path.cwd())
    except ValueError:
        shown = path
    print(f"Report (open it in a browser): {shown}", file=sys.stderr)
    return path
