#!/usr/bin/env python3
"""Prints every criterion figure as a ratio to its group's baseline.

Reads target/criterion (or the directory given) after `cargo bench`. In each
group, a benchmark whose function id starts with "baseline" (or, in the
older groups, names a peer: memcpy, flate2_*, tokio_*, std_*, memchr_loop,
memmem_*) is a baseline;
every other benchmark is compared with each baseline of the same group that
has the same parameter (or no parameter). The ratio is throughput relative to
the baseline: baseline_time / time, so above 1.0 means faster than the
baseline. Output is a Markdown table, one row per (benchmark, baseline).

Usage: python3 scripts/ratios.py [CRITERION_DIR] [--group SUBSTRING]
"""
import json
import os
import sys


def load(root):
    rows = []
    for dirpath, _dirs, files in os.walk(root):
        if os.path.basename(dirpath) != "new" or "benchmark.json" not in files:
            continue
        with open(os.path.join(dirpath, "benchmark.json")) as f:
            meta = json.load(f)
        with open(os.path.join(dirpath, "estimates.json")) as f:
            est = json.load(f)
        rows.append({
            "group": meta["group_id"],
            "function": meta.get("function_id") or "",
            "param": meta.get("value_str") or "",
            "throughput": meta.get("throughput"),
            "median_ns": est["median"]["point_estimate"],
        })
    return rows


BASELINE_PREFIXES = ("baseline", "memcpy", "flate2_", "tokio_", "std_", "memchr_loop", "memmem_")


def is_baseline(name):
    return name.startswith(BASELINE_PREFIXES)


def human_rate(row):
    t = row["throughput"]
    if not t or "Bytes" not in t:
        return ""
    gib_s = t["Bytes"] / (row["median_ns"] * 1e-9) / (1 << 30)
    return f"{gib_s:.2f} GiB/s"


def main():
    argv = sys.argv[1:]
    want = None
    if "--group" in argv:
        i = argv.index("--group")
        want = argv[i + 1]
        del argv[i:i + 2]
    root = argv[0] if argv else os.path.join("target", "criterion")
    rows = load(root)
    print("| group | benchmark | param | vs baseline | ratio | median | rate |")
    print("|---|---|---|---|---|---|---|")
    for group in sorted({r["group"] for r in rows}):
        if want and want not in group:
            continue
        g = [r for r in rows if r["group"] == group]
        bases = [r for r in g if is_baseline(r["function"])]
        for r in sorted(g, key=lambda r: (r["param"], r["function"])):
            if r in bases:
                continue
            for b in bases:
                if b["param"] not in ("", r["param"]):
                    continue
                ratio = b["median_ns"] / r["median_ns"]
                print(f"| {group} | {r['function']} | {r['param']} | {b['function']} | "
                      f"{ratio:.2f}x | {r['median_ns'] / 1e6:.3f} ms | {human_rate(r)} |")


if __name__ == "__main__":
    main()
