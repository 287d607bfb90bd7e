"""Timing shared by the side-by-side benchmarks (trees.py, catalog.py)."""

from __future__ import annotations

import statistics
import time


def timeit_all(fns: dict, repeats: int) -> dict:
    """Times each function of fns (key -> zero-argument callable) repeats
    times, round-robin: each repeat times every function once (about 50 ms
    of calls), so that a slow phase of the machine falls on all of them.
    Returns key -> seconds per call, one value per repeat."""
    calls = {}
    for k, fn in fns.items():
        fn()  # warm
        calls[k] = max(1, int(0.05 / max(_once(fn), 1e-7)))
    out = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t = time.perf_counter()
            for _ in range(calls[k]):
                fn()
            out[k].append((time.perf_counter() - t) / calls[k])
            time.sleep(0.01)
    return out


def _once(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def best_lines(name: str, rows: int, engines: dict, tried: dict) -> list[str]:
    """Markdown rows for one model and batch size from timeit_all's results
    keyed (engine, threads): each engine at its faster thread count (the
    2-thread one named plainly), with the ratio to MLE. Prints them too."""
    res = {}
    for k in engines:
        t = min((t for (kk, t) in tried if kk == k), key=lambda t: statistics.median(tried[k, t]))
        res[k if t == 2 or k == "MLE" else f"{k} (1 thread)"] = tried[k, t]
    base = statistics.median(res["MLE"])
    out = []
    for k, v in res.items():
        med = statistics.median(v)
        out.append(f"| {name} | {rows} | {k} | {med * 1e6:,.1f} µs | {min(v) * 1e6:,.1f}–{max(v) * 1e6:,.1f}"
                   f" | {med / base:.2f}× |")
    print("\n".join(out), flush=True)
    return out


def time_model(name: str, engines: dict, rows_sets: dict, repeats: int) -> list[str]:
    """Times every engine (label -> {threads: fn(X)}) on each input of
    rows_sets (rows -> X): 10,000 rows with 2 threads; 1 row at the better of
    the thread counts given. Returns the table rows."""
    lines = []
    for rows, Xr in rows_sets.items():
        variants = {(k, t): (lambda f=f: f(Xr)) for k, fns in engines.items() for t, f in fns.items()
                    if rows == 1 or t == 2}
        lines += best_lines(name, rows, engines, timeit_all(variants, repeats))
    return lines


def finish(lines: list[str], out: str | None, quick: bool) -> None:
    """Prints the table and writes it to out (not for --quick runs)."""
    table = "\n".join(lines)
    if out and not quick:
        with open(out, "w") as f:
            f.write(table + "\n")
    print(table)
