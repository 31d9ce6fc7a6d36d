"""BENCHMARKS.md and the chart, from one results file (medians of the interleaved rounds).

`make bench` writes BENCHMARKS.md and bench/results/latest.png; `make bench-quick` writes
bench/results/quick.md and quick.png, so a quick check never replaces the full record.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from harness.server_process import ROOT

REFERENCES = {
    "untraced": "(c)",
    "tipg": "(d)",
    "pygeoapi": "(e)",
    "database": "(f)",
    "best_sql": "(g)",
    "pg_featureserv": "(h)",
    "floor": "(i)",
}
ITEMS_KINDS = ["items_10", "items_100", "items_1000", "bbox", "datetime", "filter", "deep_cursor"]
# (what, numerator, denominator, goal, the kinds it is about (None: all), judged on the worst
# kind or the median over them)
TARGETS: list[tuple[str, str, str, float, list[str] | None, str]] = [
    ("untraced / (i) the Python floor", "untraced", "floor", 0.75,
     ["item", "items_10", "items_100"], "worst"),
    ("untraced / pg_featureserv", "untraced", "pg_featureserv", 1.0,
     ["items_10", "items_100", "items_1000", "bbox", "collections"], "worst"),
    ("traced 10 % / untraced", "traced_10", "untraced", 0.90, None, "worst"),
    ("traced 100 % / untraced", "traced", "untraced", 0.75, None, "median"),
    ("traced 10 % / (g) best SQL", "traced_10", "best_sql", 0.5, ITEMS_KINDS, "worst"),
]  # fmt: skip


def median_of(runs: list[dict[str, Any]], key: str) -> float | None:
    """Median over rounds; None when any round had errors (the server could not answer it)."""
    if any(r["errors"] for r in runs):
        return None
    return statistics.median(r[key] for r in runs)


def medians(results: dict[str, Any]) -> dict[str, dict[str, dict[str, float | None]]]:
    """Per case and kind; None where it erred or answered differently from ours."""
    differs = results.get("differs", {})
    return {
        case: {
            kind: {
                k: None if kind in differs.get(case, []) else median_of(runs, k)
                for k in ("requests_per_second", "p50_ms", "p99_ms")
            }
            for kind, runs in kinds.items()
        }
        for case, kinds in results["runs"].items()
    }


def _fmt(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def kind_table(kind: str, m: dict[str, Any], labels: dict[str, str]) -> list[str]:
    lines = [
        "| case | req/s | p50 ms | p99 ms | "
        + " | ".join(f"× {v}" for v in REFERENCES.values())
        + " |",
        "| --- | ---: | ---: | ---: | " + " | ".join("---:" for _ in REFERENCES) + " |",
    ]
    for case, kinds in m.items():
        if kind not in kinds:
            continue
        row = kinds[kind]
        ratios = [
            _fmt(
                _ratio(
                    row["requests_per_second"],
                    m.get(ref, {}).get(kind, {}).get("requests_per_second"),
                ),
                2,
            )
            for ref in REFERENCES
        ]
        lines.append(
            f"| {labels[case]} | {_fmt(row['requests_per_second'])} | {_fmt(row['p50_ms'], 2)} | "
            f"{_fmt(row['p99_ms'], 2)} | " + " | ".join(ratios) + " |"
        )
    return lines


def _target_row(m: dict[str, Any], kinds: list[str], target: tuple[Any, ...]) -> str:
    what, num, den, goal, about, judged = target
    chosen = [k for k in kinds if about is None or k in about]
    ratios = [
        r
        for k in chosen
        if (
            r := _ratio(
                m.get(num, {}).get(k, {}).get("requests_per_second"),
                m.get(den, {}).get(k, {}).get("requests_per_second"),
            )
        )
        is not None
    ]
    scope = "every kind" if about is None else ", ".join(chosen)
    if not ratios:
        return f"| {what} ({scope}) | ≥ {goal} | not measured | | {judged} | no |"
    worst, middle = min(ratios), statistics.median(ratios)
    met = "yes" if (worst if judged == "worst" else middle) >= goal else "no"
    return (
        f"| {what} ({scope}) | ≥ {goal} | {_fmt(worst, 2)} | {_fmt(middle, 2)} | {judged} | {met} |"
    )


def targets_table(results: dict[str, Any], m: dict[str, Any]) -> list[str]:
    lines = [
        "| target | goal | worst kind | median over kinds | judged on | met |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]
    kinds = list(results["kinds"])
    lines += [_target_row(m, kinds, target) for target in TARGETS]
    deep = _ratio(
        m.get("untraced", {}).get("deep_cursor", {}).get("requests_per_second"),
        m.get("untraced", {}).get("items_100", {}).get("requests_per_second"),
    )
    if deep is not None:  # the deep page within 1.5x of the first page's time
        met = "yes" if deep >= 1 / 1.5 else "no"
        lines.append(
            f"| deep page (cursor) / first page, untraced | ≥ 0.67 | {deep:.2f} | | | {met} |"
        )
    if "big_pages" in results:
        grown = results["big_pages"]["grown_mb"]
        met = "yes" if grown <= 50 else "no"
        lines.append(
            f"| RSS growth serving limit=10000 detections (MB) | ≤ 50 | {grown} | | | {met} |"
        )
    if "conditional" in results:
        ok, unchanged = (statistics.median(results["conditional"][s]) for s in ("200", "304"))
        lines.append(
            f"| 304 / 200 (items_100 with its ETag, untraced), information | | "
            f"{unchanged / ok:.2f} | {ok:,.0f} → {unchanged:,.0f} req/s | | |"
        )
    one, two = (statistics.median(results["scaling"][w]) for w in ("1", "2"))
    scaled = f"{one:,.0f} → {two:,.0f} req/s"
    lines.append(
        f"| 2 workers / 1 worker (items_100), information | | {two / one:.2f} | {scaled} | | |"
    )
    return lines


def rss_table(results: dict[str, Any], labels: dict[str, str]) -> list[str]:
    lines = ["| case | RSS at start MB | RSS at end MB | max MB |", "| --- | ---: | ---: | ---: |"]
    for case, samples in results["rss_mb"].items():
        if not samples:  # a server we did not start (pg_featureserv)
            continue
        lines.append(f"| {labels[case]} | {samples[0]} | {samples[-1]} | {max(samples)} |")
    return lines


def _summary(r: dict[str, Any]) -> str:
    command = "make bench-quick" if r["quick"] else "make bench"
    return (
        f"Generated by `{command}` on {r['date']} at commit `{r['commit']}` ({r['machine']}; "
        "server, database, collector and load generator on one machine, loopback). "
        f"Data: {r['sizes']['perimeters']:,} perimeters, {r['sizes']['detections']:,} detections. "
        f"wrk, 1 thread, {r['connections']} connections, {r['seconds']} s per run, {r['rounds']} "
        "interleaved rounds, medians shown; one uvicorn worker per server. Raw runs: "
        f"`bench/results/{r['date']}-{r['commit']}*.json`. Wall time {r['wall_seconds']} s."
    )


def write(results: dict[str, Any]) -> None:
    m = medians(results)
    labels = results["labels"]
    out = [
        "# Benchmarks",
        "",
        _summary(results),
        "",
        "## Targets",
        "",
        *targets_table(results, m),
        "",
        "## By request",
        "",
    ]
    for kind, description in results["kinds"].items():
        out += [f"### {kind}: {description}", "", *kind_table(kind, m, labels), ""]
    out += [
        "## Resident memory per worker",
        "",
        *rss_table(results, labels),
        "",
        f"![requests per second](bench/results/{_stem(results)}.png)",
        "",
    ]
    markdown = ROOT / ("bench/results/quick.md" if results["quick"] else "BENCHMARKS.md")
    markdown.write_text("\n".join(out))
    chart(results, m, labels, ROOT / f"bench/results/{_stem(results)}.png")


def _stem(results: dict[str, Any]) -> str:
    return "quick" if results["quick"] else "latest"


def chart(results: dict[str, Any], m: dict[str, Any], labels: dict[str, str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = list(results["kinds"])
    cases = list(m)
    width = 0.8 / len(cases)
    fig, ax = plt.subplots(figsize=(12, 5))
    for i, case in enumerate(cases):
        values = [(m[case].get(k, {}).get("requests_per_second") or 0) for k in kinds]
        ax.bar([x + i * width for x in range(len(kinds))], values, width, label=labels[case])
    ax.set_xticks([x + width * (len(cases) - 1) / 2 for x in range(len(kinds))], kinds)
    ax.set_yscale("log")
    ax.set_ylabel("requests per second (median, log scale)")
    ax.legend(fontsize=8)
    ax.set_title(f"veda-wfs3 bench {results['date']} {results['commit']}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
