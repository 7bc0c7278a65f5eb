"""Figures of a benchmark run, drawn from its report.json (scripts/bench runs
this after every run; nothing here is drawn by hand).

    python3 plot.py REPORT.json OUTDIR

Writes SVG files into OUTDIR:

- ``scale-time.svg``: time per operation against table size, per contender,
  log-log, one panel per scale step (create, listing, plan+apply 1% changed,
  teardown); rows with more destinations per service are drawn apart.
- ``scale-memory.svg``: bytes per service of a read table and of a plan,
  beside the kernel's own attribute bytes for the same table.
- ``floor-ratio.svg``: each contender's time per operation divided by the
  floor's (the medians), per workload, on a log scale.
- ``soak-rss.svg``, ``soak-fds.svg``, ``soak-threads.svg`` (when the run had
  the soak): the director loop's RSS, open descriptors and threads over the
  soak (the ``soak`` of the row whose workload is ``soak``), the first two
  with the target's band: within 5% of the value after the first minute.

Exits non-zero when the report has no row to draw.
"""

import json
import statistics
import sys

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SCALE = "scale-"
STEPS = [("create", "create"), ("list", "full listing"), ("reconcile", "plan+apply, 1% changed"), ("teardown", "teardown")]


def ok_rows(rows):
    return [r for r in rows if not r.get("error") and r.get("samples")]


def per_op(r):
    return statistics.median(s["wall_s"] for s in r["samples"]) / max(r["ops"], 1)


def extra(r, key):
    v = [s["extra"][key] for s in r["samples"] if key in s.get("extra", {})]
    return statistics.median(v) if v else None


def save(fig, path):
    fig.tight_layout()
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)
    print(f"plot.py: wrote {path}")


def series(rows):
    """{(contender, dests per service): [(services, row)]}, sorted by size."""
    out = {}
    for r in rows:
        out.setdefault((r["contender"], r["destinations_per_service"]), []).append((r["services"], r))
    return {k: sorted(v, key=lambda x: x[0]) for k, v in out.items()}


def style(contenders):
    """One colour per contender (up to 20 apart), the same in every panel."""
    cmap = plt.get_cmap("tab20")
    return {c: cmap(i % 20) for i, c in enumerate(sorted(contenders))}


def log_axes(ax, y=True):
    ax.set_xscale("log")
    if y:
        ax.set_yscale("log")
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def scale_time(rows, path):
    rows = [r for r in rows if r["workload"].startswith(SCALE)]
    if not rows:
        return False
    colors = style({r["contender"] for r in rows})
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    for ax, (step, title) in zip(axes.flat, STEPS):
        mine = [r for r in rows if r["workload"].startswith(f"{SCALE}{step}-")]
        for (c, d), pts in sorted(series(mine).items()):
            xs = [s for s, _ in pts]
            ys = [per_op(r) * 1e6 for _, r in pts]
            dashed = d != min(r["destinations_per_service"] for r in mine)
            ax.plot(xs, ys, marker="s" if dashed else "o", linestyle="--" if dashed else "-",
                    color=colors[c], label=f"{c} (x{d})" if dashed else c)
        log_axes(ax)
        ax.set_title(f"Scale: {title}")
        ax.set_xlabel("services in the table")
        ax.set_ylabel("µs per operation (median)")
        ax.grid(True, which="both", alpha=0.3)
        if mine:
            ax.legend(fontsize=7)
    save(fig, path)
    return True


def scale_memory(rows, path):
    rows = [r for r in rows if r["workload"].startswith(f"{SCALE}memory-")]
    if not rows:
        return False
    fig, ax = plt.subplots(figsize=(8, 5))
    colors = style({r["contender"] for r in rows})
    for (c, d), pts in sorted(series(rows).items()):
        key = "attr_bytes" if c == "floor" else "delta_bytes"
        xy = [(s, extra(r, key) / s) for s, r in pts if extra(r, key) is not None]
        if not xy:
            continue
        name = "kernel attribute bytes" if c == "floor" else c
        ax.plot([x for x, _ in xy], [y for _, y in xy], marker="o", color=colors[c],
                linestyle="-" if d == 1 else "--", label=f"{name} (x{d})")
    log_axes(ax, y=False)
    ax.set_title("Memory per service: peak RSS added by the step")
    ax.set_xlabel("services in the table")
    ax.set_ylabel("bytes per service")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    save(fig, path)
    return True


def floor_ratio(rows, path):
    groups = {}
    for r in rows:
        w = r["workload"]
        # a standard reconcile's floor is its changed operations alone, and
        # memory rows are not timed work: neither has a ratio to the floor
        if w.startswith("reconcile-") or w.startswith(f"{SCALE}memory-"):
            continue
        groups.setdefault(w, []).append(r)
    bars = []
    for w, rs in groups.items():
        floor = next((r for r in rs if r["contender"] == "floor"), None)
        if floor is None:
            continue
        for r in rs:
            if r is not floor:
                bars.append((w, r["contender"], per_op(r) / per_op(floor)))
    if not bars:
        return False
    colors = style({c for _, c, _ in bars})
    fig, ax = plt.subplots(figsize=(10, max(3.0, 0.22 * len(bars) + 1)))
    labels = []
    for i, (w, c, x) in enumerate(bars):
        ax.barh(i, x, color=colors[c])
        labels.append(f"{w}: {c}")
    ax.set_yticks(range(len(bars)), labels, fontsize=6)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_title("Time per operation ÷ the floor's (medians; 1 = the kernel API's limit)")
    ax.grid(True, axis="x", which="both", alpha=0.3)
    save(fig, path)
    return True


def soak_drift(t, v):
    """As the harness judges it (soak_run.rs, drift): the lowest value of a window
    (a tenth of the soak, at most ten samples) after the first minute (a
    soak under 90 s: its first third), and of the last window: (index, reference, end)."""
    at = 60.0 if t[-1] >= 90.0 else t[-1] / 3.0
    i = next(k for k, x in enumerate(t) if x >= at)
    n = max(1, min(10, len(v) // 10))
    return i, min(v[i:i + n]), min(v[-n:])


def soak(rows, out):
    """The director loop's soak: RSS, open descriptors and threads over time,
    each in a figure of its own, the first two with the target's band (within
    5% of the value after the first minute); threads beside the number of
    real servers checked (one check thread each)."""
    runs = [r for r in rows if r["workload"] == "soak" and r.get("soak")]
    if not runs:
        return False
    s = runs[-1]["soak"]
    t = s["t_s"]
    if not t:
        return False
    for key, name, label in [("rss_kib", "rss", "RSS (KiB)"), ("fds", "fds", "open descriptors")]:
        fig, ax = plt.subplots(figsize=(9, 4))
        v = s[key]
        ref, start, end = soak_drift(t, v)
        ax.plot(t, v, color="tab:blue", label=label)
        band = (start * 0.95, start * 1.05)
        ax.axhspan(*band, xmin=0, xmax=1, color="tab:green", alpha=0.15,
                   label=f"target: the end ({end:g}) within 5% of {start:g} (lowest of a window from {t[ref]:.0f} s and at the end)")
        ax.axvline(t[ref], color="tab:green", linewidth=0.8, linestyle="--")
        ax.set_ylim(bottom=0, top=max(max(v), band[1]) * 1.15)
        ax.set_title(f"Soak of the director loop: {label}, sampled once a second")
        ax.set_xlabel("seconds")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
        save(fig, f"{out}/soak-{name}.svg")
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(t, s["threads"], color="tab:blue", label="threads")
    if s.get("checks"):
        ax.plot(t, s["checks"], color="tab:orange", linestyle="--", label="real servers checked (a thread each)")
    ax.set_ylim(bottom=0)
    ax.set_title("Soak of the director loop: threads, sampled once a second")
    ax.set_xlabel("seconds")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    save(fig, f"{out}/soak-threads.svg")
    return True


def main(argv):
    if len(argv) != 2:
        raise SystemExit(__doc__)
    with open(argv[0]) as f:
        all_rows = json.load(f)
    rows = ok_rows(all_rows)
    out = argv[1]
    plt.rcParams["svg.hashsalt"] = "lvskit-bench"  # stable ids: diffs show real changes
    drawn = [
        scale_time(rows, f"{out}/scale-time.svg"),
        scale_memory(rows, f"{out}/scale-memory.svg"),
        floor_ratio(rows, f"{out}/floor-ratio.svg"),
        soak(all_rows, out),
    ]
    if not any(drawn):
        raise SystemExit(f"plot.py: nothing to draw in {argv[0]}")


if __name__ == "__main__":
    main(sys.argv[1:])
