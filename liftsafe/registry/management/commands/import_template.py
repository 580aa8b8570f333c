"""`liftsafe import_template out.xlsx [--mapping cn-template]`: write an empty import template workbook."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from liftsafe.registry.importer import MappingError, load_mapping


def write_template(path, mapping: str = "cn-template") -> None:
    """Write an empty XLSX for ``mapping``: row 1 = a note per column, row 2 = the column names.

    Raises:
        MappingError: unknown mapping or a mapping without a ``[[columns]]`` list.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    m = load_mapping(mapping)
    if not m.columns:
        raise MappingError(f"mapping {mapping!r} declares no [[columns]] for a template")
    wb = Workbook()
    ws = wb.active
    ws.title = "电梯登记"
    notes = [c.get("note", "") for c in m.columns]
    notes[0] = ("说明：第1行为填写说明，第2行为列名，请从第3行起填写；带“必填”的列不能为空。 " + notes[0]).strip()
    ws.append(notes)
    ws.append([c["name"] for c in m.columns])
    for cell in ws[1]:
        cell.font = Font(italic=True, color="666666", size=9)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    for i, c in enumerate(m.columns, start=1):
        ws.column_dimensions[ws.cell(row=2, column=i).column_letter].width = max(12, len(c["name"]) * 2 + 4)
    ws.freeze_panes = "A3"
    wb.save(path)


class Command(BaseCommand):
    help = "Write an empty registry import template (XLSX, Chinese columns, a note row above the header)."

    def add_arguments(self, parser):
        parser.add_argument("out", help="the .xlsx file to write")
        parser.add_argument("--mapping", default="cn-template")

    def handle(self, *args, out, mapping, **options):
        try:
            write_template(out, mapping)
        except MappingError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"template written: {out}")
