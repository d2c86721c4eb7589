"""Plots bench/results/scaling/*.json (bench/scaling.sh) as PNGs.

Usage: python3 bench/plot_scaling.py bench/results/scaling   (needs matplotlib)
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(d, name):
    p = os.path.join(d, name + ".json")
    if not os.path.exists(p):
        return None
    with open(p) as f:
        rep = json.load(f)
    return {w["name"]: w for w in rep["workloads"]}


def curve(d, axis, names, xs, xlabel, fname, logx=False):
    pts = [(x, load(d, n)) for x, n in zip(xs, names)]
    pts = [(x, r) for x, r in pts if r and "process-leveldb" in r]
    if not pts:
        return
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.6))
    x = [p[0] for p in pts]
    pl = [p[1]["process-leveldb"] for p in pts]
    ax[0].plot(x, [w["ratio"] for w in pl], "o-", label="process-leveldb / raw ceiling")
    ax[0].axhline(1.0, color="grey", lw=0.5)
    ax[0].set_ylabel("ratio to raw Sarama ceiling")
    ax[0].set_ylim(bottom=0)
    ax[1].plot(x, [w["cpu_us_per_msg"] for w in pl], "o-", label="process-leveldb")
    ax[1].plot(x, [w["ceiling_cpu_us_per_msg"] for w in pl], "s--", label="ceiling (consume+produce)")
    ax[1].set_ylabel("CPU µs per message")
    ax[1].set_ylim(bottom=0)
    ax[2].plot(x, [w["peak_rss_bytes"] / 2**20 for w in pl], "o-", label="process-leveldb")
    rec = [p[1].get("processor-recovery-leveldb") for p in pts]
    if all(rec):
        ax[2].plot(x, [w["peak_rss_bytes"] / 2**20 for w in rec], "s--", label="processor-recovery-leveldb")
    ax[2].set_ylabel("peak RSS MB")
    ax[2].set_ylim(bottom=0)
    for a in ax:
        a.set_xlabel(xlabel)
        if logx:
            a.set_xscale("log")
        a.grid(alpha=0.3)
        a.legend(fontsize=7)
    fig.suptitle(f"cost against {axis} (embedded broker, one run per point)")
    fig.tight_layout()
    fig.savefig(os.path.join(d, fname), dpi=80)
    plt.close(fig)


def recovery(d):
    pts = [(1e6, load(d, "partitions-10")), (1e7, load(d, "keys-10M"))]
    pts = [(x, r) for x, r in pts if r and "processor-recovery-leveldb" in r]
    if not pts:
        return
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.6))
    x = [p[0] for p in pts]
    rec = [p[1]["processor-recovery-leveldb"] for p in pts]
    ax[0].plot(x, [w["seconds"] for w in rec], "o-", label="processor-recovery-leveldb")
    ax[0].set_ylabel("recovery time s")
    ax[1].plot(x, [w["peak_rss_bytes"] / 2**20 for w in rec], "o-", label="processor-recovery-leveldb")
    ax[1].set_ylabel("peak RSS MB")
    for a in ax:
        a.set_xlabel("table records")
        a.set_xscale("log")
        a.set_ylim(bottom=0)
        a.grid(alpha=0.3)
        a.legend(fontsize=7)
    fig.suptitle("recovery against table size (embedded broker)")
    fig.tight_layout()
    fig.savefig(os.path.join(d, "recovery.png"), dpi=80)
    plt.close(fig)


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "bench/results/scaling"
    curve(d, "partitions", ["partitions-10", "partitions-50", "partitions-200"], [10, 50, 200],
          "partitions (10,000 keys)", "partitions.png")
    curve(d, "distinct keys", ["partitions-10", "keys-1M", "keys-10M"], [1e4, 1e6, 1e7],
          "distinct keys (10 partitions)", "keys.png", logx=True)
    curve(d, "value size", ["partitions-10", "value-1KiB", "value-10KiB"], [16, 1024, 10240],
          "input value bytes", "value-size.png", logx=True)
    recovery(d)


if __name__ == "__main__":
    main()
