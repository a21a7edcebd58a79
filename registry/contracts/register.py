"""Importing an obligee's contract register (契約台帳) as CSV, keyed by 保証契約番号.

The file is what Excel writes: UTF-8 with or without a BOM, or Shift_JIS (cp932); a
header row names the columns in Japanese (保証契約番号, 請負金額, 契約日, 工期(自)/(至),
工事名; a few common variants are understood) or by the API's field names. Cells are
read like the form reads them: 全角 digits, 「50,000,000」, 和暦 or ISO dates.

Each good row is recorded on its own (``record_contract``, audited), so one bad row
costs only itself: a row with any error stores nothing and is reported with its row
number, as Excel numbers rows. Only certificates on the organisation's list can get a
contract; a number that is not there is a row error like any other.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import re
import unicodedata
from typing import Callable

from ..audit.chain import record
from ..clock import Clock, utcnow
from ..errors import InvalidContract, InvalidInput, NotFound
from ..certificates.normalise import normalise_contract_number
from .records import record_contract
from .terms import FIELDS, LABELS, ContractTerms, terms_from_text

MAX_ROWS = 10_000

# Header text (NFKC, without blanks and brackets) -> field.
COLUMNS = {
    "保証契約番号": "contract_number", "contract_number": "contract_number",
    "請負金額": "contract_amount", "請負代金額": "contract_amount", "契約金額": "contract_amount",
    "contract_amount": "contract_amount",
    "契約日": "contract_date", "契約締結日": "contract_date", "contract_date": "contract_date",
    "工期自": "period_start", "工期開始": "period_start", "工期開始日": "period_start",
    "工期始期": "period_start", "着工日": "period_start", "period_start": "period_start",
    "工期至": "period_end", "工期終了": "period_end", "工期終了日": "period_end",
    "工期終期": "period_end", "完成期限": "period_end", "period_end": "period_end",
    "工事名": "work_name", "工事件名": "work_name", "work_name": "work_name",
}
_HEADER_NOISE = re.compile(r"[\s()\[\]「」【】]")


def _column_of(header: str) -> str | None:
    return COLUMNS.get(_HEADER_NOISE.sub("", unicodedata.normalize("NFKC", header)).lower())


def decode(data: bytes) -> str:
    """UTF-8 (a BOM is dropped) or, failing that, Shift_JIS as Windows writes it (cp932)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in ("utf-8", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput("ファイルの文字コードを読み取れません。CSV(UTF-8 または Shift_JIS)で保存してください。")


@dataclasses.dataclass(frozen=True)
class RegisterRow:
    row: int                       # as Excel numbers it (the header is row 1)
    typed_number: str              # the 保証契約番号 as written
    contract_number: str | None    # normalised, when it reads as one
    terms: ContractTerms | None
    errors: tuple[str, ...]        # Japanese, for the clerk; none: the row can be recorded


def _read_row(row_number: int, cells: dict[str, str]) -> RegisterRow:
    typed = (cells.get("contract_number") or "").strip()
    number = normalise_contract_number(typed)
    errors = []
    if number is None:
        errors.append("保証契約番号が読み取れません(例: 20001-000001)。" if typed
                      else "保証契約番号がありません。")
    terms = None
    try:
        terms = terms_from_text(cells)
    except InvalidContract as exc:
        errors += [f"{LABELS.get(field, '契約情報')}: {message}" if field in LABELS else message
                   for field, message in exc.japanese]
    return RegisterRow(row_number, typed, number, terms, tuple(errors))


def read_register(data: bytes) -> list[RegisterRow]:
    """Every data row of the file, each with its errors. A file that cannot be read as
    a register at all (encoding, no 保証契約番号 column, too long) is refused whole."""
    text = decode(data)
    records = list(csv.reader(io.StringIO(text, newline="")))
    if not records:
        raise InvalidInput("ファイルが空です。")
    header = [_column_of(h) for h in records[0]]
    if "contract_number" not in header:
        raise InvalidInput("1行目に「保証契約番号」の列見出しがありません。")
    if not set(header) & set(FIELDS):
        raise InvalidInput("1行目に契約情報の列見出し(請負金額、契約日、工期(自)、工期(至)、工事名)がありません。")
    if len(records) - 1 > MAX_ROWS:
        raise InvalidInput(f"一度に取り込めるのは{MAX_ROWS:,}行までです。ファイルを分けてください。")
    rows = []
    for index, cells in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue  # blank lines Excel leaves at the end
        named = {column: cell for column, cell in zip(header, cells) if column}
        rows.append(_read_row(index, named))
    return _refuse_duplicates(rows)


def _refuse_duplicates(rows: list[RegisterRow]) -> list[RegisterRow]:
    """A number on two rows says two things: neither is recorded."""
    where: dict[str, list[int]] = {}
    for row in rows:
        if row.contract_number:
            where.setdefault(row.contract_number, []).append(row.row)
    out = []
    for row in rows:
        others = [n for n in where.get(row.contract_number, []) if n != row.row]
        if others:
            row = dataclasses.replace(row, errors=row.errors + (
                f"同じ保証契約番号が{'、'.join(map(str, others))}行目にもあります。",))
        out.append(row)
    return out


@dataclasses.dataclass
class ImportReport:
    rows: int = 0
    recorded: int = 0      # new or changed records
    unchanged: int = 0     # the same terms were already recorded
    errors: list[tuple[int, str, str]] = dataclasses.field(default_factory=list)  # (row, number, message)

    @property
    def stored_nothing(self) -> bool:
        return self.recorded == 0


NOT_LISTED = "この保証契約番号は貴団体の保証証書一覧にありません(先に「保証証書の照会」で追加してください)。"


def import_register(*, organisation_id: int, organisation_code: str, data: bytes, actor: str,
                    progress: Callable[[int, int], None] | None = None,
                    clock: Clock = utcnow) -> ImportReport:
    """Record every good row; report the others. ``progress(done, total)`` after each row."""
    rows = read_register(data)
    report = ImportReport(rows=len(rows))
    for done, row in enumerate(rows, start=1):
        if row.errors:
            report.errors += [(row.row, row.typed_number, e) for e in row.errors]
        else:
            try:
                result = record_contract(organisation_id=organisation_id,
                                         organisation_code=organisation_code,
                                         contract_number=row.contract_number, terms=row.terms,
                                         actor=actor, source="import", clock=clock)
            except NotFound:
                report.errors.append((row.row, row.typed_number, NOT_LISTED))
            else:
                if result.changed:
                    report.recorded += 1
                else:
                    report.unchanged += 1
        if progress is not None:
            progress(done, len(rows))
    record("contract.register_imported", actor=actor, organisation_code=organisation_code,
           details={"rows": report.rows, "recorded": report.recorded,
                    "unchanged": report.unchanged,
                    "rows_refused": len({r for r, _, _ in report.errors})},
           clock=clock)
    return report
