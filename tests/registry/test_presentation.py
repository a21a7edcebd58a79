"""A document laid out like the paper certificate, and two revisions compared."""
import json

from registry.certificates.presentation import compare, changed_keys, fields_of, sheet_of
from tests.factories import VECTORS, make_document, next_revision


def _vector_document(name: str) -> dict:
    return json.loads((VECTORS / f"{name}.json").read_text())["document"]


def test_rows_follow_the_paper_certificate():
    sheet = sheet_of(make_document())
    assert [row.label for row in sheet.rows] == [
        "保証契約番号", "商品(保証区分)", "保証契約者", "被保証者", "保証金額", "保証期間", "工事名",
        "工事場所", "請負金額", "工期", "契約日", "預託金融機関"]
    values = {row.label: row.values for row in sheet.rows}
    assert values["保証金額"] == ["20,000,000円"]
    assert values["保証期間"] == ["令和8年4月1日 ～ 令和8年12月25日"]
    assert values["契約日"] == ["令和8年3月25日"]
    assert values["保証契約者"] == ["角田建設株式会社", "宮城県角田市角田字大坊41", "代表取締役 山田 一郎"]
    assert sheet.title == "保証証書(前払金保証)"
    assert sheet.issued_on == "令和8年4月1日"
    assert sheet.statement == "当社は、前払金保証契約に基づき上記のとおり保証契約を締結し、その責に任じます。"
    assert sheet.surety["branch"] == "宮城支店" and sheet.surety["fax"] == "022-262-0000"
    assert not any(row.changed for row in sheet.rows)


def test_a_jv_contract_guarantee_names_the_jv_and_its_members_and_has_no_bank():
    sheet = sheet_of(_vector_document("05-contract-new-jv"))
    labels = [row.label for row in sheet.rows]
    assert "JV名" in labels and "構成員" in labels and "預託金融機関" not in labels
    assert labels.index("保証契約者") < labels.index("JV名") < labels.index("構成員") < labels.index("被保証者")
    assert sheet.title == "保証証書(契約保証)"
    members = next(row for row in sheet.rows if row.label == "構成員").values[0]
    assert "、" in members


def test_a_change_marks_the_rows_that_changed():
    first = make_document()
    change = next_revision(first, "change", guarantee_amount=24_000_000,
                           guarantee_period__end="2027-01-29")
    sheet = sheet_of(change, compared_with=first)
    changed = [row.label for row in sheet.rows if row.changed]
    assert changed == ["保証金額", "保証期間"]
    assert sorted(changed_keys(first, change)) == ["guarantee_amount", "guarantee_period"]


def test_compare_lines_up_every_field_and_skips_absent_ones():
    first = make_document()
    change = next_revision(first, "change", surety__tel="022-000-1111")
    fields = compare(first, change)
    assert [f.key for f in fields if f.changed] == ["kind", "surety.tel"]
    assert [f.key for f in fields if f.changed and not f.bookkeeping] == ["surety.tel"]
    assert "principal.jv_name" not in [f.key for f in fields]
    assert len(fields) == len([f for f in fields_of(first) if f.value])
