"""Plots the sqrt hit-vs-miss benchmark from criterion's results.

Run `cargo bench --bench sqrt_hit_vs_miss` first, then
`python3 docs/plot_sqrt_bench.py` (needs matplotlib) to write
docs/sqrt-hit-vs-miss.png.
"""
import json
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / "target" / "criterion" / "sqrt"
SERIES = [
    ("compute", "compute, no cache"),
    ("miss", "miss: lookup + compute + store"),
    ("raw_get", "raw get of the value"),
    ("hit_verified", "hit: lookup + verify (default)"),
    ("hit_authenticated", "hit: lookup + keyed BLAKE3 tag"),
]

fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
for name, label in SERIES:
    sizes, medians = [], []
    if not (RESULTS / name).is_dir():
        continue
    for size_dir in sorted((RESULTS / name).iterdir(), key=lambda p: int(p.name) if p.name.isdigit() else 0):
        estimates = size_dir / "new" / "estimates.json"
        if not size_dir.name.isdigit() or not estimates.exists():
            continue
        sizes.append(int(size_dir.name))
        medians.append(json.loads(estimates.read_text())["median"]["point_estimate"] / 1e3)
    ax.plot(sizes, medians, marker="o", label=label)
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("decimal digits of the number")
ax.set_ylabel("median time per call (µs)")
ax.set_title("Exact square root to 10 digits: memcached hit vs computing")
ax.grid(True, which="both", alpha=0.3)
ax.legend()
fig.tight_layout()
fig.savefig(ROOT / "docs" / "sqrt-hit-vs-miss.png")
print("wrote docs/sqrt-hit-vs-miss.png")
