"""A chart table drawn as an SVG with pygal, to be put inline in the page, under the CSP.

pygal's defaults do not pass the portal's Content-Security-Policy (no
third-party origin, inline styles and scripts only with the request's nonce):

- `js=[]`: by default the SVG loads a script from a third-party site (LIBRARIES.md);
- pygal still writes an inline `<script>` with its configuration for that
  script: removed, nothing uses it;
- its `<style>` is inline: it gets the request's nonce;
- its tooltip placeholder carries a `style` attribute: made an SVG
  `opacity` attribute, which the CSP does not govern.

The SVG is decorative for assistive technology (`aria-hidden`): the figure
around it carries the text alternative and the table (templates/insight).
"""

from __future__ import annotations

import re
from typing import Any

import pygal
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from pygal.style import Style

from insight.reports import CHART_ROWS, DAY, EURO, MONTH, ChartTable, display

# The portal's palette (Bootstrap 5.3), readable on white and told apart by more than colour: the table is one click away.
_STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#212529",
    foreground_strong="#212529",
    foreground_subtle="#6c757d",
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    colors=("#0d6efd", "#fd7e14", "#198754", "#6f42c1", "#d63384", "#20c997"),
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=13,
    value_font_size=12,
    tooltip_font_size=12,
)

_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL)
_STYLE_TAG = re.compile(r"<style\b[^>]*>")


def _number(value: Any) -> float | None:
    # pygal draws floats; the table keeps the exact Decimal.
    return None if value is None else float(value)


def chart_svg(table: ChartTable, *, nonce: str) -> SafeString:
    """The chart as inline SVG markup, passing the CSP with `nonce`."""
    columns = {column.key: index for index, column in enumerate(table.columns)}
    units = {column.key: column.unit for column in table.columns}
    rows = table.rows[:CHART_ROWS] if table.chart in ("bar", "horizontal_bar") else table.rows
    config: dict[str, Any] = {
        "js": [],
        "style": _STYLE,
        "disable_xml_declaration": True,
        "show_legend": len(table.series) > 1,
        "legend_at_bottom": True,
        "height": 360,
        "width": 800,
        "explicit_size": False,
        "print_values": False,
        "truncate_legend": -1,
        "truncate_label": 24,
        "margin": 12,
    }
    first_unit = table.columns[0].unit
    labels = [display(row[0], first_unit) for row in rows]
    money = units.get(table.series[0]) == EURO if table.series else False
    config["value_formatter"] = (
        (lambda value: display(value, EURO)) if money else (lambda value: display(value, "mb"))
    )
    if table.chart == "stacked_bar":
        chart: Any = pygal.StackedBar(**config)
    elif table.chart == "line":
        chart = pygal.Line(**config, show_dots=False, x_labels_major_every=7, show_minor_x_labels=False)
    elif table.chart == "horizontal_bar":
        chart = pygal.HorizontalBar(**config)
    else:
        chart = pygal.Bar(**config)
    if first_unit == DAY:
        chart.x_label_rotation = 0
    elif first_unit == MONTH or table.chart == "bar":
        chart.x_label_rotation = 30
    if table.chart == "horizontal_bar":
        # pygal draws the first label at the bottom: reversed, the highest is on top, as in the table.
        rows, labels = list(reversed(rows)), list(reversed(labels))
    chart.x_labels = labels
    label_of = {column.key: column.label for column in table.columns}
    for key in table.series:
        chart.add(
            label_of[key],
            [_number(row[columns[key]]) for row in rows],
            secondary=key in table.secondary,
        )
    svg = chart.render(is_unicode=True)
    svg = _SCRIPT.sub("", svg)
    svg = _STYLE_TAG.sub(f'<style nonce="{escape(nonce)}">', svg)
    svg = svg.replace('style="opacity: 0"', 'opacity="0"')
    svg = svg.replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1)
    return mark_safe(svg)  # noqa: S308 - pygal's own markup; every label went through its XML escaping  # nosec B308 B703
