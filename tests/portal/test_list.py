"""The organisation's list: newest first, searchable, paged, unseen revisions marked."""
import datetime as dt
import re

import pytest

from registry.certificates import portfolio
from registry.models import Certificate
from tests.factories import make_document
from tests.portal.certificate_fixtures import *  # noqa: F401,F403
from tests.portal.certificate_fixtures import ARRIVAL, look_up


def listed_numbers(html):
    return re.findall(r'<td class="nowrap"><a href="/certificates/([0-9-]+)">', html)


def badge(html, number):
    row = re.search(rf'<a href="/certificates/{number}">{number}</a>\s*(?:<br>)?(<span class="badge badge-new">([^<]+)</span>)?', html)
    assert row, f"{number} is not listed"
    return row.group(2)


@pytest.fixture
def two_looked_up(staff_client, post_vectors):
    key_a = post_vectors("01-advance-new", start=ARRIVAL)
    key_b = post_vectors("05-contract-new-jv", start=ARRIVAL + dt.timedelta(days=3))
    client = staff_client()
    look_up(client, "10001-000001", key_a)
    look_up(client, "10001-000002", key_b)
    return client


def test_an_empty_list_says_how_to_fill_it(staff_client):
    html = staff_client().get("/certificates").get_data(as_text=True)
    assert "まだ保証証書がありません" in html and 'href="/lookup"' in html


def test_the_list_holds_what_the_organisation_looked_up_newest_first(two_looked_up, staff_client):
    html = two_looked_up.get("/certificates").get_data(as_text=True)
    assert listed_numbers(html) == ["10001-000002", "10001-000001"]
    assert "全2件" in html
    assert "20,000,000円" in html and "前払金保証" in html and "契約保証" in html
    assert "令和8年4月4日" in html  # 最終更新 as a Japanese day
    # A colleague sees the same list; another organisation sees none of it.
    assert listed_numbers(staff_client("b@kakuda.example.jp").get("/certificates").get_data(as_text=True)) \
        == ["10001-000002", "10001-000001"]
    assert listed_numbers(staff_client("c@shirako.example.jp", "124249").get("/certificates")
                          .get_data(as_text=True)) == []


def test_the_list_is_searchable_without_javascript(two_looked_up):
    def search(query):
        return listed_numbers(two_looked_up.get(f"/certificates?{query}").get_data(as_text=True))

    assert search("q=舗装補修") == ["10001-000002", "10001-000001"]
    assert search("q=共同企業体") == ["10001-000002"]           # the principal (JV)
    assert search("q=10001-000001") == ["10001-000001"]
    assert search("q=１０００１０００００１") == ["10001-000001"]  # full width, no hyphen
    assert search("product=contract") == ["10001-000002"]
    assert search("date_from=2026-04-02") == ["10001-000002"]
    assert search("date_to=2026-04-01") == ["10001-000001"]
    assert search("date_field=issued&date_from=2026-04-04&date_to=2026-04-04") == ["10001-000002"]
    assert search("q=存在しない工事") == []
    assert search("date_from=not-a-date&product=bogus") == ["10001-000002", "10001-000001"]
    html = two_looked_up.get("/certificates?q=存在しない工事").get_data(as_text=True)
    assert "条件に合う保証証書はありません" in html and 'value="存在しない工事"' in html


def test_active_search_swaps_only_the_results(two_looked_up):
    html = two_looked_up.get("/certificates").get_data(as_text=True)
    form = html[html.index('<form method="get" action="/certificates"'):]
    form = form[:form.index(">")]
    assert 'hx-get="/certificates"' in form and 'hx-target="#results"' in form
    assert 'hx-push-url="true"' in form and "delay:" in form
    response = two_looked_up.get("/certificates?q=共同企業体", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert "<html" not in body and "<form" not in body
    assert body.strip().startswith('<p role="status" class="result-count">')
    assert listed_numbers(body) == ["10001-000002"]
    assert "HX-Request" in response.headers["Vary"]


def _link(html, rel):
    found = re.search(rf'<a href="([^"]+)" hx-get="([^"]+)" hx-target="#results"[^>]*rel="{rel}"', html)
    if not found:
        return None
    assert found.group(1) == found.group(2)  # the same page with or without htmx
    return found.group(1).replace("&amp;", "&")


@pytest.fixture
def twenty_seven(app, staff_client, post_document):
    client = staff_client()
    with app.app_context():
        user_id, org_id = client.user.id, client.user.organisation.id
    for i in range(27):
        post_document(make_document(contract_number=f"40001-{i:06d}"), at=ARRIVAL + dt.timedelta(hours=i))
    with app.app_context():
        for cert in Certificate.select():
            portfolio.add_to_list(organisation_id=org_id, certificate_id=cert.id, user_id=user_id)
    return client


def test_the_list_is_paged_by_25_and_keeps_the_search(twenty_seven):
    client = twenty_seven
    first = client.get("/certificates?q=舗装").get_data(as_text=True)
    assert len(listed_numbers(first)) == 25 and listed_numbers(first)[0] == "40001-000026"
    assert "27件" in first and "次の25件" in first
    assert _link(first, "prev") is None and _link(first, "first") is None
    next_url = _link(first, "next")
    assert "after=" in next_url and "q=" in next_url
    second = client.get(next_url).get_data(as_text=True)
    assert listed_numbers(second) == ["40001-000001", "40001-000000"]
    assert _link(second, "next") is None and _link(second, "last") is None
    assert "q=" in _link(second, "first") and "after=" not in _link(second, "first")
    back = client.get(_link(second, "prev")).get_data(as_text=True)
    assert listed_numbers(back) == listed_numbers(first)
    last = client.get(_link(first, "last")).get_data(as_text=True)
    assert listed_numbers(last) == [f"40001-{i:06d}" for i in range(24, -1, -1)]
    assert "last=1" in _link(first, "last") and _link(last, "next") is None
    assert listed_numbers(client.get(_link(last, "prev")).get_data(as_text=True)) \
        == ["40001-000026", "40001-000025"]


def test_a_page_link_swaps_only_the_results_for_htmx(twenty_seven):
    first = twenty_seven.get("/certificates").get_data(as_text=True)
    body = twenty_seven.get(_link(first, "next"), headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in body and listed_numbers(body) == ["40001-000001", "40001-000000"]
    assert 'rel="prev"' in body and 'rel="first"' in body


@pytest.mark.parametrize("query", ["after=nonsense", "before=2026", "after=20261399999999999999-1",
                                   "after=" + "9" * 300, "before=00000000000000000000-1",
                                   "after=20260401010203000456-" + "9" * 30, "page=99999999999"])
def test_a_bad_cursor_is_the_first_page_never_an_error(twenty_seven, query):
    response = twenty_seven.get(f"/certificates?{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert listed_numbers(html)[0] == "40001-000026" and len(listed_numbers(html)) == 25
    if not query.startswith("page="):
        assert "ページの位置が読み取れなかった" in html


def test_counts_above_the_cap_are_not_exact(twenty_seven, monkeypatch):
    monkeypatch.setattr(portfolio, "COUNT_CAP", 20)
    html = twenty_seven.get("/certificates").get_data(as_text=True)
    assert "20件以上" in html and "27件" not in html


def test_the_menu_counts_stop_at_99(twenty_seven, monkeypatch):
    from registry.contracts import queue
    html = twenty_seven.get("/certificates").get_data(as_text=True)
    assert re.search(r'data-queue="unseen">27<', html)
    monkeypatch.setattr(queue, "MENU_CAP", 9)  # 10 and more: shown as 99+ in the real menu
    html = twenty_seven.get("/certificates").get_data(as_text=True)
    assert re.search(r'data-queue="unseen">10<', html)


def test_a_search_past_its_window_says_so_and_goes_on(twenty_seven, monkeypatch):
    monkeypatch.setattr(portfolio, "SEARCH_WINDOW", 10)
    html = twenty_seven.get("/certificates?q=40001-00000").get_data(as_text=True)
    assert listed_numbers(html) == [] and "10件までを調べます" in html
    on = _link(html, "next")
    assert "after=" in on and "q=40001-00000" in on
    seen = []
    while on:
        html = twenty_seven.get(on).get_data(as_text=True)
        seen += listed_numbers(html)
        on = _link(html, "next")
    assert seen == [f"40001-{i:06d}" for i in range(9, -1, -1)]


def test_unseen_revisions_are_marked(two_looked_up, staff_client, post_vectors):
    html = two_looked_up.get("/certificates").get_data(as_text=True)
    assert badge(html, "10001-000001") == "未読"  # looked up, not opened yet
    two_looked_up.get("/certificates/10001-000001")
    html = two_looked_up.get("/certificates").get_data(as_text=True)
    assert badge(html, "10001-000001") is None and badge(html, "10001-000002") == "未読"
    # A colleague has not opened either.
    colleague = staff_client("b@kakuda.example.jp").get("/certificates").get_data(as_text=True)
    assert badge(colleague, "10001-000001") == "未読"
    # A new revision arrives: marked again until opened.
    post_vectors("02-advance-change", start=ARRIVAL + dt.timedelta(days=5))
    html = two_looked_up.get("/certificates").get_data(as_text=True)
    assert badge(html, "10001-000001") == "新しい版あり"
    assert listed_numbers(html)[0] == "10001-000001"  # updated most recently
    two_looked_up.get("/certificates/10001-000001/print")
    assert badge(two_looked_up.get("/certificates").get_data(as_text=True), "10001-000001") is None
