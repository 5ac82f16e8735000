"""How a command shows what it lists or reports: a table that fits, `--json` or `--csv`.

A command builds a `Report`: named `Section`s, each a list of rows (dicts of
JSON-ready values: ints, floats, strings, booleans, None) and the `Column`s a
person reads. Then `emit(report, fmt)`:

- the table (the default) shows each section's columns at the terminal's width.
  Ids and numbers are never cut: a text column wraps; when the columns still do
  not fit, the lowest-priority ones are left out and a note says which and how
  to see them (a wider terminal, `--json` or `--csv`);
- `--json` prints `{"schema": "etslink.<name>/1", "<section>": [rows…], …}` —
  `pandas.DataFrame(doc["<section>"])` reads a section straight into a frame;
  every key of every row, not only the shown columns;
- `--csv` prints one section's rows (every key) as CSV: for commands with one
  section, or the section the command names as its main one.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import click
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

SCHEMA_VERSION = 1
_UNBOUNDED = 100_000  # measure a table's narrowest form without the console's clamp
HASH_SHOWN_CHARS = 16  # a table shows a hash's first 16 hex digits; --json the whole
_TEXT_FOLD_MIN = 12  # the narrowest a text column is let fold to before rows become lines

ColumnKind = Literal["id", "number", "text"]
Format = Literal["table", "json", "csv"]


@dataclass(frozen=True)
class Column:
    """One column of a table: which row key it shows and how.

    `kind`: "id" and "number" cells are never wrapped or cut; "text" cells wrap.
    `show` turns the row's value into the cell text (default: `str`, "-" for None).
    `drop`: the order in which columns are left out when the table does not fit
    (1 first, then 2, …); 0 is never left out.
    """

    key: str
    header: str
    kind: ColumnKind = "text"
    show: Callable[[Any], str] | None = None
    drop: int = 0

    def cell(self, row: dict[str, Any]) -> str:
        value = row.get(self.key)
        if self.show is not None:
            return self.show(value)
        if value is None:
            return "-"
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)


@dataclass
class Section:
    """One table of a report: its rows for tools and its columns for people."""

    name: str
    rows: list[dict[str, Any]]
    columns: Sequence[Column]
    title: str = ""
    notes: list[str] = field(default_factory=list)
    empty: str = "none"


@dataclass
class Report:
    """What a command shows: sections, plus figures that are not rows (`extra`)."""

    name: str
    sections: list[Section]
    extra: dict[str, Any] = field(default_factory=dict)
    csv_section: str | None = None  # the section `--csv` writes (default: the only one)

    def as_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"schema": f"etslink.{self.name}/{SCHEMA_VERSION}"}
        doc.update(self.extra)
        for section in self.sections:
            doc[section.name] = section.rows
        return doc


def format_options(csv_ok: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add `--json` (and `--csv`) to a command, passed on as `fmt`."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        choices = {"json": "Print JSON for tools instead of the table."}
        if csv_ok:
            choices["csv"] = "Print the rows as CSV instead of the table."
        for flag, help_text in reversed(list(choices.items())):
            function = click.option(
                f"--{flag}", "fmt", flag_value=flag, default=None, help=help_text
            )(function)
        return function

    return decorate


def emit(report: Report, fmt: str | None, console: Console | None = None) -> None:
    """Show `report` as a table (default), JSON or CSV on standard output."""
    if fmt == "json":
        json.dump(report.as_json(), sys.stdout, indent=2, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
        return
    if fmt == "csv":
        write_csv(_csv_section(report), sys.stdout)
        return
    console = console or Console(highlight=False)
    for index, section in enumerate(report.sections):
        if index:
            console.print()
        print_section(section, console)


def print_titled(report: Report, title: str, description: str, console: Console) -> None:
    """Print a session's report as a table under its title and the file's narrative."""
    console.print(Text(title, style="bold"))
    if description:
        console.print(Text(description.strip()))
    console.print()
    emit(report, None, console)


def write_csv(section: Section, stream: Any) -> None:
    """Write every key of `section`'s rows as CSV (keys in first-seen order)."""
    keys: list[str] = []
    for row in section.rows:
        keys.extend(key for key in row if key not in keys)
    if not keys:
        keys = [column.key for column in section.columns]
    writer = csv.DictWriter(stream, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    for row in section.rows:
        writer.writerow({key: _csv_value(row.get(key)) for key in keys})


def print_section(section: Section, console: Console) -> None:
    """Print one section as a table that fits `console`'s width, with its notes.

    When even the table's narrowest form with every droppable column left out is
    wider than the terminal, each row is printed as lines of "header: value"
    instead: a value is never cut.
    """
    if section.title:
        console.print(Text(section.title, style="bold"))
    if not section.rows:
        console.print(Text(f"  {section.empty}"))
    else:
        table, left_out = fitted_table(section.columns, section.rows, console)
        if table is None:
            _print_records(section, console)
        else:
            console.print(table)
            if left_out:
                console.print(
                    Text(
                        f"left out at {console.width} columns: {', '.join(left_out)} "
                        "(widen the terminal, or use --json or --csv for every column)",
                        style="dim",
                    )
                )
    for note in section.notes:
        console.print(Text(note))


def fitted_table(
    columns: Sequence[Column], rows: Iterable[dict[str, Any]], console: Console
) -> tuple[Table | None, list[str]]:
    """Return a table of `rows` that fits `console`, and the headers of columns left out.

    Columns are left out in their `drop` order until the table's narrowest form
    (ids and numbers whole, text wrapped at word boundaries) fits the width. When
    nothing more can be left out, a table still fits if its text columns may fold a
    word longer than the room left (a long path in a sentence): ids and numbers stay
    whole. None when not even that fits.
    """
    rows = list(rows)
    shown = list(columns)
    left_out: list[str] = []
    droppable = sorted((c for c in columns if c.drop), key=lambda c: c.drop)
    unbounded = console.options.update(max_width=_UNBOUNDED)
    while True:
        table = _table(shown, rows)
        if Measurement.get(console, unbounded, table).minimum <= console.width:
            return table, left_out
        if not droppable:
            folded = _table(shown, rows, text_width=_TEXT_FOLD_MIN)
            if Measurement.get(console, unbounded, folded).minimum <= console.width:
                return table, left_out
            return None, []
        column = droppable.pop(0)
        shown.remove(column)
        left_out.append(column.header)


def _print_records(section: Section, console: Console) -> None:
    width = max(len(column.header) for column in section.columns)
    for index, row in enumerate(section.rows):
        if index:
            console.print()
        for column in section.columns:
            console.print(Text(f"{column.header:>{width}}: {column.cell(row)}"))


def _table(
    columns: Sequence[Column], rows: list[dict[str, Any]], text_width: int | None = None
) -> Table:
    """Return the table; with `text_width`, its text cells cut to that many characters
    (only to measure the narrowest the table can be when text folds)."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for column in columns:
        whole = column.kind != "text"
        table.add_column(
            column.header,
            justify="right" if column.kind == "number" else "left",
            no_wrap=whole,
            overflow="fold",
            min_width=max(
                *(len(line) for line in column.header.splitlines()),
                *(len(column.cell(row)) for row in rows),
            )
            if whole
            else None,
        )
    for row in rows:
        cells = [column.cell(row) for column in columns]
        if text_width is not None:
            cells = [
                cell[:text_width] if column.kind == "text" else cell
                for column, cell in zip(columns, cells, strict=True)
            ]
        table.add_row(*(Text(cell) for cell in cells))
    return table


def _csv_section(report: Report) -> Section:
    if report.csv_section is not None:
        return next(s for s in report.sections if s.name == report.csv_section)
    if len(report.sections) != 1:
        raise click.UsageError("--csv writes one table; this command shows several: use --json")
    return report.sections[0]


def _csv_value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    if value is None:
        return ""
    return value


__all__ = [
    "HASH_SHOWN_CHARS",
    "Column",
    "Format",
    "Report",
    "Section",
    "emit",
    "fitted_table",
    "format_options",
    "print_section",
    "print_titled",
    "write_csv",
]
