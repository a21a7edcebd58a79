"""The benchmark harness (bench/harness): its arithmetic, its table and its answer checks,
then every endpoint it measures, once, against a tiny seeded world through the app. No
timing is asserted anywhere: targets are for `make bench` to print."""
from __future__ import annotations

import json

import pytest

from bench.harness import endpoints as eps
from bench.harness.report import Row, rows, table
from bench.harness.stats import change, median_ratio, percentile, spread, summary
from bench.harness.world import World, postgres_url, size_label


# --- stats ----------------------------------------------------------------------------

def test_percentiles_are_measured_values_by_nearest_rank():
    values = [0.005, 0.001, 0.004, 0.002, 0.003]
    assert percentile(values, 50) == 0.003
    assert percentile(values, 99) == 0.005
    assert percentile(list(range(1, 101)), 99) == 99
    assert percentile([], 50) is None


def test_a_summary_counts_requests_per_second_of_wall_time():
    assert summary([0.01, 0.02, 0.03, 0.04], 2.0) == {
        "requests": 4, "seconds": 2.0, "rps": 2.0, "p50_ms": 20.0, "p99_ms": 40.0}


def test_the_ratio_is_the_median_of_per_round_ratios():
    # round 2's baseline was slowed down by something else on the machine: one odd round
    # moves the median of ratios less than it would move a ratio of totals
    assert median_ratio([50, 40, 52], [100, 40, 100]) == 0.52
    assert median_ratio([50, None], [100, 0]) == 0.5
    assert median_ratio([], []) is None


def test_spread_and_change():
    assert spread([0.5, 0.55, 0.45]) == 0.2
    assert spread([0.5]) is None
    assert change(0.55, 0.5) == 0.1
    assert change(0.5, None) is None and change(None, 0.5) is None


# --- the table -------------------------------------------------------------------------

def world(engine="sqlite", size=10_000, *, page=20.0, cert=0.4, put=0.35, lookup_rps=30.0,
          argon_ms=50.0, audit=1.1, rss=90.0, beside_argon2id=None):
    def ep(ratio=None, rps=None, p50=None, argon2id=None):
        return {"label": "x", "endpoint": {"rps": rps, "p50_ms": p50}, "healthz": {}, "bare": {},
                "ratio_healthz": ratio, "ratio_bare": None, "ratio_argon2id": argon2id, "errors": 0}
    return {"engine": engine, "size": size, "size_label": size_label(size), "workers": 2,
            "argon2id_ms": argon_ms, "peak_rss_mib": rss, "audit": {"ratio": audit, "entries": 10_500},
            "endpoints": {"list_first": ep(p50=page), "list_last": ep(p50=page * 2),
                          "certificate": ep(cert), "change_put": ep(put),
                          "staff_lookup": ep(rps=lookup_rps, argon2id=beside_argon2id),
                          "api_lookup": ep(rps=lookup_rps)}}


def by_key(table_rows, engine="sqlite", size="10k"):
    return {r.key: r for r in table_rows if r.engine == engine and r.size in (size, "1m/10k", "10k")}


def test_every_row_of_the_targets_table_is_there_with_its_verdict():
    got = by_key(rows([world()]))
    assert set(got) == {"list_first_scaling", "list_last_scaling", "certificate", "change_put",
                        "staff_lookup", "api_lookup", "audit_verify", "peak_rss", "spread"}
    assert got["certificate"].verdict == "FAIL" and got["change_put"].verdict == "pass"
    # 2 workers × 1000 / 50 ms = 40 lookups/s at most; 30 is 0.75 of that
    assert got["staff_lookup"].measured == 0.75 and got["staff_lookup"].verdict == "FAIL"
    assert got["audit_verify"].verdict == "pass" and "10,500 entries" in got["audit_verify"].note
    assert got["peak_rss"].verdict == "pass"


def test_a_lookup_is_set_against_the_bare_argon2id_measured_beside_it_when_there_is_one():
    got = by_key(rows([world(lookup_rps=30.0, argon_ms=50.0, beside_argon2id=0.9)]))
    assert got["staff_lookup"].measured == 0.9 and got["staff_lookup"].verdict == "pass"
    assert "by formula (2 × 1000 / 50.0 ms in-process) 0.75" in got["staff_lookup"].note
    assert got["api_lookup"].measured == 0.75  # none beside it: the formula


def test_with_one_size_the_list_rows_give_the_10k_figures_and_say_1m_was_not_run():
    row = by_key(rows([world()]))["list_first_scaling"]
    assert row.measured is None and row.verdict == "n/a"
    assert row.note == "p50 20.0 ms at 10k; 1M not run"


def test_with_both_sizes_the_list_rows_are_1m_over_10k():
    got = rows([world(page=20.0), world(size=1_000_000, page=24.0)])
    first = next(r for r in got if r.key == "list_first_scaling")
    assert first.size == "1m/10k" and first.measured == 1.2 and first.verdict == "pass"
    assert sum(1 for r in got if r.key == "certificate") == 2  # one per size


def test_the_spread_row_is_the_largest_change_of_a_ratio_since_the_previous_run():
    got = by_key(rows([world(cert=0.44)], previous=[world(cert=0.4)]))["spread"]
    assert got.measured == pytest.approx(0.1) and got.verdict == "pass"
    assert "certificate +10.0%" in got.note
    worse = by_key(rows([world(cert=0.3)], previous=[world(cert=0.4)]))["spread"]
    assert worse.measured == pytest.approx(-0.25) and worse.verdict == "FAIL"
    assert by_key(rows([world()], previous=[world(engine="postgresql")]))["spread"].verdict == "n/a"


def test_the_printed_table_has_a_line_per_row_with_measured_and_target():
    text = table(rows([world()]))
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["figure", "engine"]
    assert len(lines) == 2 + 9
    cert = next(line for line in lines if line.startswith("certificate page"))
    assert "0.4" in cert and "≥ 0.5" in cert and "FAIL" in cert
    assert Row("spread", "sqlite", "10k", 0.123).shown() == "+12.3%"


def test_the_postgresql_database_is_named_for_the_size_and_must_say_bench():
    assert postgres_url("postgresql://u@h:5432/dsure_bench", 10_000).endswith("/dsure_bench_10k")
    assert postgres_url("postgresql://u@h:5432/dsure_bench", 1_000_000).endswith("/dsure_bench_1m")
    with pytest.raises(SystemExit):
        postgres_url("postgresql://u@h:5432/test", 10_000)


# --- answer checks ---------------------------------------------------------------------

def test_answer_checks_name_what_is_wrong():
    check = eps.expect(200, "署名は有効です".encode())
    assert check(200, "…署名は有効です…".encode()) is None
    assert check(500, b"boom").startswith("HTTP 500, expected 200")
    assert check(200, b"<html></html>") == "missing '署名は有効です'"
    assert eps.expect(200, pattern=eps.NUMBER)(200, b"<td>").startswith("nothing matching")
    assert eps.expect_redirect_to_certificate(303, b"") is None
    assert eps.expect_redirect_to_certificate(200, b"failed") is not None


def test_the_last_page_is_the_pages_own_link_or_else_the_offset_page():
    assert eps.last_page_path(b'<a href="/certificates?before=x&amp;y=1" rel="last">', 100) == \
        "/certificates?before=x&y=1"
    assert eps.last_page_path(b"<nav></nav>", 10_001) == "/certificates?page=401"
    assert eps.last_page_path(b"", 0) == "/certificates?page=1"


# --- every endpoint once, through the app ----------------------------------------------

@pytest.fixture
def tiny_world(app, runner, app_config, tmp_path):
    assert runner.invoke(args=["demo"]).exit_code == 0
    sample = tmp_path / "sample.json"
    result = runner.invoke(args=["seed", "--certificates", "6", "--obligee", "042081",
                                 "--sample", "2", "--sample-file", str(sample)])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "world"
    folder.mkdir()
    (folder / "instance").symlink_to(app_config["INSTANCE_PATH"])
    (folder / "sample.json").write_text(sample.read_text())
    return World(folder=folder, engine="sqlite", size=6, database_url=app_config["DATABASE_URL"],
                 secret_key=app_config["SECRET_KEY"], key_pepper=app_config["KEY_PEPPER"],
                 next_change=0)


def test_every_endpoint_answers_right_once_and_the_changes_are_stored(app, client, tiny_world):
    creds = eps.credentials(tiny_world)
    assert creds.listed >= 6 and creds.argon2id_ms > 0
    client.set_cookie("dsure_session", creds.cookie)
    first = client.get("/certificates")
    assert first.status_code == 200
    changes = eps.ChangeMaker(tiny_world, creds)
    measured = eps.endpoints(tiny_world, creds, first.data, changes)
    assert [e.name for e in measured] == ["list_first", "list_last", "certificate", "change_put",
                                          "staff_lookup", "api_lookup"]
    for endpoint in measured:
        request = endpoint.next_request()
        answer = client.open(request.path, method=request.method, data=request.body,
                             headers={k: v for k, v in request.headers.items() if k != "Cookie"})
        assert request.check(answer.status_code, answer.data) is None, (endpoint.name, answer.data[:300])
    assert changes.sent and eps.stored_changes(tiny_world, changes.sent) is None
    # six certificates, fewer than the sample the bench keeps clear: only the last changes
    assert list(changes.sent.values()) == [2] and changes.next_unused() == 6
    tiny_world.next_change = 6  # as run.py saves it: the next run goes round again
    again = eps.ChangeMaker(tiny_world, creds).next()
    assert again.path.endswith("/revisions/3")
    assert json.loads((tiny_world.folder / "sample.json").read_text())["sample"]


# --- load and rounds against a stand-in server -----------------------------------------

@pytest.fixture
def stand_in():
    """A threaded loopback server: /healthz and / answer 200, anything else 500; it
    remembers the order of paths asked."""
    import http.server
    import threading
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            seen.append(self.path)
            status = 200 if self.path in ("/healthz", "/", "/ok", "/argon2id") else 500
            body = b'{"ok":true}'
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


def test_a_fixed_count_is_sent_over_kept_alive_connections_and_wrong_answers_are_counted(stand_in):
    from bench.harness import load
    port, seen = stand_in
    ok = load.run(port, lambda: load.Request("GET", "/ok", check=eps.expect(200)), threads=3, count=30)
    assert len(ok.latencies) == 30 and ok.errors == 0 and ok.figures()["requests"] == 30
    bad = load.run(port, lambda: load.Request("GET", "/nope", check=eps.expect(200)), threads=2, count=4)
    assert bad.errors == 4 and bad.first_error.startswith("GET /nope: HTTP 500")


def test_rounds_alternate_the_endpoint_with_its_baselines(stand_in, monkeypatch):
    from bench.harness import load, rounds
    port, seen = stand_in
    order = []
    real_run = load.run

    def counted(port_, make, **kwargs):
        order.append(make().path)
        return real_run(port_, make, threads=1, count=2)

    monkeypatch.setattr(load, "run", counted)
    endpoint = eps.Endpoint("x", "x", lambda: load.Request("GET", "/ok", check=eps.expect(200)),
                            argon2id_bound=True)
    result = rounds.measure(endpoint, portal_port=port, bare_port=port, rounds=5, seconds=0.1,
                            threads=1, warmup=0.1)
    assert order[:9] == ["/ok", "/ok", "/argon2id", "/healthz", "/", "/", "/healthz", "/argon2id", "/ok"]
    assert len(result["endpoint"]["rps_per_round"]) == 5 and result["errors"] == 0
    assert {"ratio_healthz", "ratio_bare", "ratio_argon2id"} <= set(result)
