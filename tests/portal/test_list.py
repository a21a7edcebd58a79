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
    assert "2件中 1〜2件目" in html
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


def test_the_list_is_paged_by_25_and_keeps_the_search(app, staff_client, post_document):
    client = staff_client()
    with app.app_context():
        user_id, org_id = client.user.id, client.user.organisation.id
    for i in range(27):
        post_document(make_document(contract_number=f"40001-{i:06d}"), at=ARRIVAL + dt.timedelta(hours=i))
    with app.app_context():
        for cert in Certificate.select():
            portfolio.add_to_list(organisation_id=org_id, certificate_id=cert.id, user_id=user_id)
    first = client.get("/certificates?q=舗装").get_data(as_text=True)
    assert len(listed_numbers(first)) == 25 and listed_numbers(first)[0] == "40001-000026"
    assert "27件中 1〜25件目" in first and "1 / 2ページ" in first
    next_link = re.search(r'<a href="([^"]+)" hx-get="[^"]+" hx-target="#results"[^>]*rel="next"', first)
    assert next_link and "page=2" in next_link.group(1) and "q=" in next_link.group(1)
    second = client.get(next_link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert listed_numbers(second) == ["40001-000001", "40001-000000"]
    assert 'rel="prev"' in second and 'rel="next"' not in second


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
