"""`python -m bench [--check] [--fast]`: one run, one table, every figure beside its target.

- `make bench` (no flag): the whole run; prints the table and exits 0 whatever it says.
- `make bench-check` (`--check`): the same run; exits 1 when a target is missed.
- `--fast --check` (`make test`, tests/integration/test_performance_gates.py): only the
  figures that do not depend on the machine's load (DynamoDB requests and capacity units
  per operation, their cost, items read per page at 100 and 10,000 items, what the
  authorizer imports, the argon2 parameters), from one recorded run of each operation;
  no time is judged.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench import argon2_cost, authorizer_cost, capacity, flows, imports, org_flows
from bench import targets as t
from bench.flows import FlowResult

PAIRS_ON_OWN_TIME = {"failed login"}  # judged without the DynamoDB time (see timing_rows)


@dataclass(frozen=True)
class Row:
    figure: str
    measured: str
    target: str
    passed: bool | None  # None: shown, not judged (a reference)
    detail: str = ""


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def _units_text(requests: int, units: capacity.Units) -> str:
    return f"{requests} req, {units.read:g} RCU, {units.write:g} WCU, {capacity.cost_text(units)}"


def _within(requests: int, units: capacity.Units, budget: t.Budget) -> bool:
    return requests <= budget.requests and units.read <= budget.read and units.write <= budget.write


def dynamodb_rows(results: list[FlowResult], authorizer: authorizer_cost.AuthorizerResults | None) -> list[Row]:
    measured: list[tuple[str, int, capacity.Units, str]] = [
        (r.operation, r.max_requests, r.units, r.breakdown) for r in results if r.operation in t.BUDGETS
    ]
    if authorizer is not None:
        for m in (authorizer.jwt, authorizer.key_cold, authorizer.key_warm, authorizer.typo_key):
            operations = "GetItem (strongly consistent)" if m.typical_requests else "none"
            if max(m.requests) > m.typical_requests:
                operations += (
                    f"; {m.requests.count(max(m.requests))} of {len(m.requests)} calls also marked the key used"
                )
            measured.append((m.label, m.typical_requests, m.typical_units, operations))
    rows = []
    for operation, requests, units, breakdown in measured:
        budget = t.BUDGETS[operation]
        target = capacity.Units(budget.read, budget.write)
        rows.append(
            Row(
                f"DynamoDB per op: {operation}",
                _units_text(requests, units),
                "<= " + _units_text(budget.requests, target),
                _within(requests, units, budget),
                breakdown,
            )
        )
    missing = sorted(set(t.BUDGETS) - {name for name, *_ in measured})
    if missing and authorizer is not None:
        rows.append(
            Row("DynamoDB per op: every budgeted operation measured", "missing", "all", False, ", ".join(missing))
        )
    return rows


def twin_rows(results: list[FlowResult]) -> list[Row]:
    """Known and unknown addresses make the same DynamoDB calls and consume the same units
    (the load-independent half of the timing check)."""
    by_name = {r.operation: r for r in results}
    rows = []
    for known_name, unknown_name in flows.TIMING_PAIRS:
        known, unknown = by_name[known_name], by_name[unknown_name]
        shapes = {s.operations for s in known.samples} | {s.operations for s in unknown.samples}
        same = len(shapes) == 1 and known.units == unknown.units
        rows.append(
            Row(
                f"{known_name}: unknown address's DynamoDB calls and units = known's",
                f"{unknown.breakdown}; {unknown.units.read:g} / {unknown.units.write:g}"
                + ("" if same else f" vs {known.breakdown}; {known.units.read:g} / {known.units.write:g}"),
                "identical",
                same,
                "every sample, in order",
            )
        )
    return rows


def paging_rows(results: org_flows.OrgBenchResults, timed: bool) -> list[Row]:
    rows = []
    for paging in (results.members, results.audit):
        name = f"{paging.listing} page of {org_flows.PAGE_SIZE}"
        large = f"{org_flows.LARGE:,}"
        rows += [
            Row(
                f"{name}: items read per page at {org_flows.SMALL} / {large}",
                f"{_span(paging.small_scanned)} / {_span(paging.scanned_per_page)}",
                f"<= {t.PAGE_MAX_ITEMS_READ} at both",
                max(paging.scanned_per_page | paging.small_scanned) <= t.PAGE_MAX_ITEMS_READ,
                f"the Query's ScannedCount; at 10,000 the first {paging.pages - 1} pages and the last",
            ),
            Row(
                f"{name}: requests per page",
                _span(paging.requests_per_page),
                f"= {t.PAGE_REQUESTS}",
                paging.requests_per_page == {t.PAGE_REQUESTS},
                "the permission check (BatchGetItem) and one Query",
            ),
            Row(
                f"{name}: RCU per page at {org_flows.SMALL} / {large}",
                f"{paging.small_units:g} / {_span(paging.units_per_page)}",
                f"large <= {t.PAGE_MAX_UNIT_GROWTH}x small",
                max(paging.units_per_page) <= t.PAGE_MAX_UNIT_GROWTH * paging.small_units,
                "eventually consistent Query + the check's 2 consistent reads",
            ),
        ]
        if timed:
            small, first, last = (
                statistics.median(v) for v in (paging.small_own_ms, paging.first_own_ms, paging.last_own_ms)
            )
            totals = (statistics.median(v) for v in (paging.small_ms, paging.first_ms, paging.last_ms))
            rows.append(
                Row(
                    f"{name}: time at 10,000 / at 100 (own work)",
                    f"{paging.own_ratio:.2f} ({first:.1f}, deep {last:.1f} vs {small:.1f} ms)",
                    f"<= {t.PAGE_MAX_TIME_RATIO}",
                    paging.own_ratio <= t.PAGE_MAX_TIME_RATIO,
                    "with moto's Query: {:.0f} / {:.0f} / {:.0f} ms ({:.2f}x; moto walks the partition)".format(
                        *totals, paging.total_ratio
                    ),
                )
            )
    return rows


def _span(values: set[int] | set[float]) -> str:
    if not values:
        return "-"
    low, high = min(values), max(values)
    return f"{low:g}" if low == high else f"{low:g}-{high:g}"


def authorizer_rows(results: authorizer_cost.AuthorizerResults) -> list[Row]:
    reference = results.reference.median_us
    cold_own = results.key_cold.median_without_dynamodb_us / reference
    return [
        Row("authorizer: bare jwt.decode (reference)", f"{reference:.0f} us", "", None, "per call, medians"),
        Row(
            "authorizer: user JWT",
            f"{results.jwt.median_us:.0f} us = {results.ratio(results.jwt):.2f}x",
            f"<= {t.AUTHORIZER_MAX_DECODE_RATIO}x jwt.decode",
            results.ratio(results.jwt) <= t.AUTHORIZER_MAX_DECODE_RATIO,
        ),
        Row(
            "authorizer: API key, warm cache",
            f"{results.key_warm.median_us:.0f} us = {results.ratio(results.key_warm):.2f}x",
            f"<= {t.AUTHORIZER_MAX_DECODE_RATIO}x jwt.decode",
            results.ratio(results.key_warm) <= t.AUTHORIZER_MAX_DECODE_RATIO,
        ),
        Row(
            "authorizer: API key, cold cache, without the GetItem",
            f"{results.key_cold.median_without_dynamodb_us:.0f} us = {cold_own:.2f}x",
            "",
            None,
            f"{results.key_cold.median_us:.0f} us with moto's GetItem; judged on its 1 request, 1 RCU (above)",
        ),
    ]


def import_rows(results: imports.ImportResults) -> list[Row]:
    baseline = results.samples[imports.BASELINE]
    rows = [Row("cold import: import boto3 (reference)", f"{baseline.median_ms:.0f} ms", "", None, "python3.13")]
    for name in imports.FUNCTION_NAMES:
        sample = results.samples[name]
        limit = {"authorizer": t.AUTHORIZER_IMPORT_MAX_RATIO, "oauth": t.OAUTH_IMPORT_MAX_RATIO}.get(
            name, t.HANDLER_IMPORT_MAX_RATIO
        )
        judged = name != "openapi"
        rows.append(
            Row(
                f"cold import: functions/{name}",
                f"{sample.median_ms:.0f} ms = {results.ratio(name):.2f}x",
                f"<= {limit}x import boto3" if judged else "",
                results.ratio(name) <= limit if judged else None,
                f"{sample.module_count} modules; with byte code {sample.byte_code_ratio:.2f}x without",
            )
        )
    byte_code = {
        name: results.samples[name].byte_code_ratio
        for name in imports.FUNCTION_NAMES
        if results.samples[name].source_cpu_median_ms >= t.BYTE_CODE_MIN_JUDGED_MS
    }
    worst = max(byte_code, key=byte_code.__getitem__)
    rows.append(
        Row(
            "cold import: with byte code / without (CPU), worst",
            f"{byte_code[worst]:.2f} ({worst})",
            f"<= {t.BYTE_CODE_MAX_RATIO}",
            byte_code[worst] <= t.BYTE_CODE_MAX_RATIO,
            f"{len(byte_code)} functions judged",
        )
    )
    return rows


def forbidden_row(loaded: Sequence[str], where: str) -> Row:
    forbidden = [name for name in loaded if name in t.FORBIDDEN_IN_AUTHORIZER]
    return Row(
        "authorizer imports none of " + ", ".join(t.FORBIDDEN_IN_AUTHORIZER),
        "loaded: " + (", ".join(forbidden) or "none"),
        "none",
        not forbidden,
        where,
    )


def argon2_rows(results: argon2_cost.Argon2Results, flow_results: list[FlowResult] | None) -> list[Row]:
    rows = [
        Row(
            "argon2id parameters at least OWASP's (m=19 MiB, t=2, p=1)",
            results.ours.description,
            "at least",
            results.at_least_owasp,
        ),
    ]
    if flow_results is None:
        return rows
    by_name = {r.operation: r for r in flow_results}
    login = by_name["login"]
    verify = by_name[flows.ARGON2_REFERENCE].median_ms
    ratio = paired_ratio(_own_ms(login), _total_ms(by_name[flows.ARGON2_REFERENCE]))
    rows += [
        Row(
            "argon2id verify, ours (reference)",
            f"{verify:.1f} ms",
            "",
            None,
            f"beside each login; alone {results.ours.median_ms:.1f} ms, OWASP's {results.owasp.median_ms:.1f} ms",
        ),
        Row(
            "login: own work / one argon2id verify",
            f"{ratio:.2f} (medians {login.own_median_ms:.1f} / {verify:.1f} ms)",
            f"<= {t.LOGIN_MAX_ARGON2_RATIO}",
            ratio <= t.LOGIN_MAX_ARGON2_RATIO,
            f"{login.median_ms:.1f} ms with moto's DynamoDB time",
        ),
    ]
    return rows


def paired_ratio(numerators: list[float], denominators: list[float]) -> float:
    """The median of run-by-run ratios: the two were measured next to each other in each
    run, so a slow spell of the machine touches both sides of each ratio alike."""
    return statistics.median(n / d for n, d in zip(numerators, denominators, strict=True))


def _own_ms(result: FlowResult) -> list[float]:
    return [(sample.seconds - sample.dynamodb_seconds) * 1000 for sample in result.samples]


def _total_ms(result: FlowResult) -> list[float]:
    return [sample.seconds * 1000 for sample in result.samples]


def timing_rows(flow_results: list[FlowResult]) -> list[Row]:
    """Known and unknown addresses. A failed login is judged on our own work (the time
    outside DynamoDB: the same four requests either way, and moto's time for them grows
    with its table); forgot password on its whole time (held to 0.3 s by design)."""
    by_name = {r.operation: r for r in flow_results}
    rows = []
    for known_name, unknown_name in flows.TIMING_PAIRS:
        known, unknown = by_name[known_name], by_name[unknown_name]
        own = known_name in PAIRS_ON_OWN_TIME
        times = _own_ms if own else _total_ms
        a, b = statistics.median(times(known)), statistics.median(times(unknown))
        ratio = paired_ratio(times(unknown), times(known))
        tolerance = max(t.TIMING_MIN_TOLERANCE_MS / a, t.TIMING_MAX_DIFFERENCE)
        same_calls = known.breakdown == unknown.breakdown
        rows.append(
            Row(
                f"{known_name}: unknown / known address" + (" (own work)" if own else ""),
                f"{ratio:.3f} (medians {b:.1f} vs {a:.1f} ms)",
                f"within {t.TIMING_MAX_DIFFERENCE:.0%} (or {t.TIMING_MIN_TOLERANCE_MS:g} ms), same calls",
                abs(ratio - 1) <= tolerance and same_calls,
                ("same calls" if same_calls else f"{known.breakdown} / {unknown.breakdown}")
                + (f"; totals {unknown.median_ms:.1f} vs {known.median_ms:.1f} ms" if own else ""),
            )
        )
    return rows


def operation_time_rows(flow_results: list[FlowResult], org_results: org_flows.OrgBenchResults) -> list[Row]:
    return [
        Row(f"time: {r.operation}", f"{r.median_ms:.1f} ms", "", None, f"own work {r.own_median_ms:.1f} ms")
        for r in [*flow_results, *org_results.flows]
        if r.operation in t.BUDGETS
    ]


def render(title: str, rows: list[Row]) -> str:
    cells = [
        [row.figure, row.measured, row.target, {True: "pass", False: "MISS", None: ""}[row.passed], row.detail]
        for row in rows
    ]
    judged = [row for row in rows if row.passed is not None]
    missed = [row for row in judged if not row.passed]
    verdict = f"{len(judged) - len(missed)} of {len(judged)} targets met" + (
        "" if not missed else "; MISSED: " + "; ".join(row.figure for row in missed)
    )
    notes = (
        f"RCU/WCU: on-demand request units {capacity.SOURCE}: reads 4 KB units (strongly consistent 1,"
        " eventual 0.5), writes 1 KB units of the larger image, transactions double, gsi1 writes included."
        f" Cost of one million operations at {capacity.PRICE_REGION} on-demand prices taken {capacity.PRICE_TAKEN}:"
        f" ${capacity.USD_PER_MILLION_WRITE_UNITS} per million write units,"
        f" ${capacity.USD_PER_MILLION_READ_UNITS} per million read units."
    )
    return "\n".join(
        [
            title,
            "=" * len(title),
            "",
            table(["figure", "measured", "target", "", "detail"], cells),
            "",
            notes,
            "",
            verdict,
        ]
    )


def _header(mode: str, elapsed: float) -> str:
    return (
        f"Kuploy Access benchmark ({mode}) — Python {platform.python_version()}, {platform.machine()},"
        f" {os.cpu_count()} CPUs, {elapsed:.0f} s, one run"
    )


def run_full(runs: int) -> list[Row]:
    flow_results = flows.run(runs)
    org_results = org_flows.run(runs)
    authorizer_results = authorizer_cost.run()
    import_results = imports.run()
    argon2_results = argon2_cost.run()
    return [
        *dynamodb_rows([*flow_results, *org_results.flows], authorizer_results),
        *twin_rows(flow_results),
        *paging_rows(org_results, timed=True),
        forbidden_row(import_results.samples["authorizer"].loaded, "the tree sam build ships, python3.13"),
        *authorizer_rows(authorizer_results),
        *import_rows(import_results),
        *argon2_rows(argon2_results, flow_results),
        *timing_rows(flow_results),
        *operation_time_rows(flow_results, org_results),
    ]


def run_fast() -> list[Row]:
    flow_results = flows.run(1)
    org_results = org_flows.run(1, page_repeats=0, first_pages=2)
    authorizer_results = authorizer_cost.run(calls=5, warm_up=2)
    argon2_results = argon2_cost.run(repeats=1)
    return [
        *dynamodb_rows([*flow_results, *org_results.flows], authorizer_results),
        *twin_rows(flow_results),
        *paging_rows(org_results, timed=False),
        forbidden_row(imports.loaded_by_authorizer_here(), "imported from the sources in a fresh process"),
        *argon2_rows(argon2_results, None),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--fast", action="store_true", help="only the figures that do not depend on load")
    parser.add_argument("--runs", type=int, default=20, help="recorded runs of each operation (full mode)")
    options = parser.parse_args(argv)
    started = time.monotonic()
    print("Kuploy Access benchmark: measuring (progress on stderr)", file=sys.stderr, flush=True)
    rows = run_fast() if options.fast else run_full(options.runs)
    mode = "--fast: load-independent figures only" if options.fast else "full"
    print(render(_header(mode, time.monotonic() - started), rows))
    missed = any(row.passed is False for row in rows)
    return 1 if options.check and missed else 0
