"""The soak (tools/soak, `make soak-load`) in small: the same tool with 6 clients for
25 seconds against a server of its own. Zero 5xx, zero unexpected answers, zero broken
invariants. No latency or memory threshold here: `make test` loads the machine, so
those are judged only in the long run."""

from __future__ import annotations

from tools.soak.report import judge, render
from tools.soak.runner import SoakOptions, run_soak
from tools.soak.workload import ACCEPT, INVITE, LOGIN, REFRESH

# Not primed (tools/soak/runner.py _prime): starting a copy of each function for each
# client at once is there for the long run's memory judgement, and costs a minute here.
OPTIONS = SoakOptions(clients=6, duration_s=25.0, warmup_s=5.0, seed=16, invitees=2, prime=False)


def test_a_short_soak_finds_no_server_error_and_no_broken_invariant(start_server):
    server = start_server()
    assert server.process is not None
    result = run_soak(OPTIONS, server.base_url, server.process.pid)
    judgement = judge(result, judge_memory=False)
    report = render(result, judgement, judge_memory=False)
    print(report)
    assert result.recorder.with_status(500, 599) == {}, report
    assert result.violations == [], report
    assert judgement.passed, report
    # The mix ran: each kind of step answered its success many times over.
    for route in (LOGIN, REFRESH, INVITE, ACCEPT):
        assert result.recorder.routes[route].measured > 0, report
