"""Quick against full per deep method, scene and metric, over seeds (a script, not a test).

Reads a results store holding the same methods run with ``--profile quick`` and
``--profile full`` and prints, per method, scenario and metric, the mean ± std over
seeds of each profile, the full-minus-quick difference, whether it exceeds the larger
of the two seed-to-seed stds ("worse" when full is worse by more than that spread),
and how many cells stopped at their epochs cap. The synthetic scenes of the two
profiles differ in size (``--profile full`` builds 100 x 100 x 182 scenes), so rows
are matched on the scenario name, and the scene sizes are printed with them.

Usage::

    hubench run --methods daeu,deq-unmix,cnnaeu,smile,ws-net --scenarios standard,samson,jasper \\
        --snr 20 --seeds 3 --profile quick --store qf.sqlite --data-dir /work/shared/data
    hubench run ... --profile full --store qf.sqlite
    python benchmarks/quick_vs_full.py qf.sqlite [--metrics armse,msad,weak_ap]
"""

from __future__ import annotations

import argparse
import math

import pandas as pd

from hubench.harness.store import ResultStore


def table(frame: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """One row per method x scenario x metric: quick and full mean/std, difference, verdict."""
    rows = []
    ok = frame[frame["status"] == "ok"]
    for (method, scenario), group in ok.groupby(["method", "scenario"]):
        for metric in metrics:
            if metric not in group:
                continue
            stats = {}
            for profile in ("quick", "full"):
                values = group.loc[group["profile"] == profile, metric].dropna()
                stats[profile] = (values.mean(), values.std(ddof=1) if len(values) > 1 else math.nan, len(values))
            (mq, sq, nq), (mf, sf, nf) = stats["quick"], stats["full"]
            if not (nq and nf):
                continue
            spread = max(s for s in (sq, sf, 0.0) if not math.isnan(s))
            worse = (mf - mq) if metric in ("armse", "msad") else (mq - mf)
            capped = group.loc[group["profile"] == "full", "training_converged"].eq(0).sum()
            rows.append({"method": method, "scenario": scenario, "metric": metric,
                         "quick": f"{mq:.4f} ± {sq:.4f} (n={nq})", "full": f"{mf:.4f} ± {sf:.4f} (n={nf})",
                         "full - quick": f"{mf - mq:+.4f}",
                         "verdict": "worse" if worse > spread else "within spread or better",
                         "full capped": f"{capped}/{nf}"})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store")
    parser.add_argument("--metrics", default="armse,msad,weak_ap")
    args = parser.parse_args()
    with ResultStore(args.store, readonly=True) as store:
        frame = store.to_frame()
    print(table(frame, [m.strip() for m in args.metrics.split(",") if m.strip()]).to_markdown(index=False))


if __name__ == "__main__":
    main()
