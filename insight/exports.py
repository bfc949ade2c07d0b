"""A chart's table as CSV or XLSX: the figures behind the chart, as numbers a spreadsheet can sum.

The tables are small (at most the company's lines, 2,000 rows for the
per-line comparison), so they are built in the request. Column names are in
the user's language; numbers are plain (a dot for decimals in the CSV, real
numbers with a format in the XLSX), dates ISO 8601 in the CSV.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

import xlsxwriter

from insight.reports import COUNT, DAY, EURO, MEGABYTES, MINUTES, MONTH, ChartTable

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _csv_value(value: Any, unit: str) -> str:
    if value is None:
        return ""
    if unit == MONTH and isinstance(value, date):
        return f"{value:%Y-%m}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def table_csv(table: ChartTable) -> bytes:
    """The table as UTF-8 CSV with a byte order mark, so spreadsheets read accents right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([column.label for column in table.columns])
    for row in table.rows:
        writer.writerow(
            [_csv_value(value, column.unit) for value, column in zip(row, table.columns, strict=True)]
        )
    if table.note:
        writer.writerow([])
        writer.writerow([table.note])
    return ("\ufeff" + buffer.getvalue()).encode()


def table_xlsx(table: ChartTable) -> bytes:
    """The table as an XLSX workbook of one sheet, numbers as numbers."""
    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(output, {"in_memory": True})
    sheet = workbook.add_worksheet(table.slug[:31])
    bold = workbook.add_format({"bold": True})
    formats = {
        EURO: workbook.add_format({"num_format": "#,##0.00"}),
        MINUTES: workbook.add_format({"num_format": "#,##0.0"}),
        MEGABYTES: workbook.add_format({"num_format": "#,##0.0"}),
        COUNT: workbook.add_format({"num_format": "#,##0"}),
        DAY: workbook.add_format({"num_format": "yyyy-mm-dd"}),
        MONTH: workbook.add_format({"num_format": "yyyy-mm"}),
    }
    sheet.write_string(0, 0, table.title, bold)
    for index, column in enumerate(table.columns):
        sheet.write_string(2, index, column.label, bold)
        sheet.set_column(index, index, 22 if index == 0 else 16)
    for row_index, row in enumerate(table.rows, start=3):
        for index, (value, column) in enumerate(zip(row, table.columns, strict=True)):
            if value is None:
                continue
            if isinstance(value, date):
                sheet.write_datetime(row_index, index, value, formats[column.unit])
            elif isinstance(value, Decimal | int):
                sheet.write_number(row_index, index, float(value), formats.get(column.unit))
            else:
                sheet.write_string(row_index, index, str(value))
    if table.note:
        sheet.write_string(len(table.rows) + 4, 0, table.note)
    workbook.close()
    return output.getvalue()
