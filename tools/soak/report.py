"""The soak's table and its judgement."""

from __future__ import annotations

from dataclasses import dataclass

from tools.soak.runner import SoakResult
from tools.soak.stats import Phase, percentile

# The server's RSS may grow between the warm-up's end and the run's end by a fixed slack
# plus an allowance per item the table gained meanwhile. Not zero: the workload stores
# data on purpose (a session per sign-in, refresh tokens, audit events, rate-limit
# counters whose TTL moto never applies) and the local server keeps the table in memory:
# moto holds an item as Python objects (a few KiB) and copies the table for each
# transaction, and CPython's allocator does not hand freed arenas back at once. The
# slack covers what else grows by design: the DynamoDB call log (a pointer per call),
# the outbox's emails, allocator arenas. Growth beyond that is memory the service (or
# the server) keeps per request without storing anything: a leak.
MEMORY_SLACK_MIB = 64.0
MEMORY_PER_ITEM_KIB = 8.0


def memory_bound_mib(result: SoakResult) -> float:
    gained = max(0, result.items_at_end - result.items_at_warmup_end)
    return MEMORY_SLACK_MIB + gained * MEMORY_PER_ITEM_KIB / 1024


@dataclass
class Judgement:
    failures: list[str]

    @property
    def passed(self) -> bool:
        return not self.failures


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def _statuses(counts: dict[int, int]) -> str:
    return " ".join(f"{status or 'none'}×{n}" for status, n in sorted(counts.items()))


def _calls(per_request: dict[str, float]) -> str:
    return " ".join(f"{op} {n:.2f}" for op, n in per_request.items()) or "-"


def memory_growth_mib(result: SoakResult) -> tuple[float, float, float] | None:
    """(RSS at the warm-up's end, at the run's end, growth), in MiB; None without samples."""
    start = result.memory.around(Phase.WARMUP, last=True)
    end = result.memory.around(Phase.MEASURED, last=True)
    if start is None or end is None:
        return None
    return start / 1024, end / 1024, (end - start) / 1024


def _rss_timeline(result: SoakResult) -> str:
    run = [s for s in result.memory.samples if s.phase in (Phase.WARMUP, Phase.MEASURED)]
    if len(run) < 2:
        return ""
    picks = [run[round(i * (len(run) - 1) / 10)] for i in range(11)]
    return " ".join(f"{s.rss_kib / 1024:.0f}" for s in picks)


def judge(result: SoakResult, judge_memory: bool) -> Judgement:
    recorder = result.recorder
    failures: list[str] = []
    server_errors = recorder.with_status(500, 599)
    if server_errors:
        failures.append(f"5xx answers: {server_errors}")
    unanswered = recorder.with_status(-1, 0)
    if unanswered:
        failures.append(f"requests without an answer, or faults of the tool: {unanswered}")
    if recorder.unexpected:
        failures.append(f"{recorder.unexpected} unexpected answers")
    if result.violations:
        failures.append(f"{len(result.violations)} invariant violations")
    if result.clients_ready < result.options.clients:
        failures.append(f"only {result.clients_ready} of {result.options.clients} clients got set up")
    growth = memory_growth_mib(result)
    if judge_memory:
        if growth is None:
            failures.append("no memory samples for the warm-up's end and the run's end")
        elif growth[2] > memory_bound_mib(result):
            failures.append(f"server RSS grew {growth[2]:.1f} MiB, over its {memory_bound_mib(result):.0f} MiB bound")
    return Judgement(failures)


def render(result: SoakResult, judgement: Judgement, judge_memory: bool) -> str:
    recorder = result.recorder
    options = result.options
    seconds = recorder.measured_seconds
    measured = recorder.measured_total()
    lines = [
        f"Soak: {options.clients} clients for {options.duration_s:.0f} s "
        f"(warm-up {options.warmup_s:.0f} s, then {seconds:.0f} s measured) against {result.base_url}, "
        f"seed {options.seed}",
        f"measured: {measured} requests, {measured / seconds if seconds else 0:.1f} requests/s; "
        f"all phases (setup, run, checks): {recorder.total()} requests",
        "",
        f"{'route':44} {'n':>6} {'req/s':>6} {'p50 ms':>7} {'p99 ms':>7}  {'statuses (all phases)':28} "
        "DynamoDB calls per request",
    ]
    for route, stats in sorted(recorder.routes.items()):
        ordered = sorted(stats.latencies)
        rate = stats.measured / seconds if seconds else 0.0
        p50 = _ms(percentile(ordered, 0.5)) if ordered else "-"
        p99 = _ms(percentile(ordered, 0.99)) if ordered else "-"
        lines.append(
            f"{route:44} {stats.measured:>6} {rate:>6.1f} {p50:>7} {p99:>7}  {_statuses(stats.statuses):28} "
            f"{_calls(stats.dynamodb_per_request())}"
        )
    total_calls = sum(result.dynamodb_measured.values())
    lines += [
        "",
        f"DynamoDB requests in the measured part, by operation ({total_calls}, "
        f"{total_calls / measured if measured else 0:.2f} per HTTP request, stream consumers included):",
        "  " + ", ".join(f"{op} {n}" for op, n in result.dynamodb_measured.most_common()),
    ]
    limited = recorder.with_status(429, 429)
    lines.append(f"429 answers: {sum(limited.values())}" + (f" {limited}" if limited else ""))
    growth = memory_growth_mib(result)
    if growth is not None:
        start, end, grown = growth
        peak = max(s.rss_kib for s in result.memory.samples) / 1024
        bound = (
            f"{MEMORY_SLACK_MIB:.0f} MiB + {MEMORY_PER_ITEM_KIB:.0f} KiB x "
            f"{result.items_at_end - result.items_at_warmup_end} items stored meanwhile "
            f"({result.items_at_warmup_end} -> {result.items_at_end})"
        )
        verdict = (
            f"bound {memory_bound_mib(result):.0f} MiB = {bound}"
            if judge_memory
            else "not judged (the short run's figures are for information)"
        )
        lines.append(
            f"server RSS: {start:.1f} MiB at the warm-up's end, {end:.1f} MiB at the end, "
            f"growth {grown:+.1f} MiB ({verdict}); peak {peak:.1f} MiB"
        )
    timeline = _rss_timeline(result)
    if timeline:
        lines.append(f"server RSS over the run (MiB, every tenth of it): {timeline}")
    lines.append(f"invariant violations: {len(result.violations)}")
    lines += [f"  {violation}" for violation in result.violations[:40]]
    if recorder.examples:
        lines.append("unexpected answers (first ones):")
        lines += [f"  {example}" for example in recorder.examples]
    lines.append("PASS" if judgement.passed else "FAIL: " + "; ".join(judgement.failures))
    return "\n".join(lines)
