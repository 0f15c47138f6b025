"""Time secondary suppression and the audit on one 2-D hierarchical count table.

    python benchmarks/probe_protection.py 1000 100 20     # rows, columns, rows per group

Rows are grouped into consecutive groups (subtotals) under the total; counts are
negative binomial(2, 0.15); primaries are the cells (margins included) with
0 < count < 4. The audit runs as ``TableOutput.protect`` runs it (the pattern
comes from the kernel, so no suppressed cell is a linear combination of the
published ones) and, with ``--gate``, as the gate does (that is checked first).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sdc.protection.audit import audit
from sdc.protection.secondary import secondary_suppress
from sdc.tables.model import TableModel


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("rows", type=int)
    p.add_argument("columns", type=int)
    p.add_argument("group", type=int)
    p.add_argument("--gate", action="store_true", help="audit as the gate does")
    args = p.parse_args()
    rng = np.random.default_rng(0)
    leaves = tuple(f"r{i}" for i in range(args.rows))
    groups = tuple(
        (f"G{i // args.group}", leaves[i : i + args.group]) for i in range(0, args.rows, args.group)
    )
    cols = tuple(f"c{j}" for j in range(args.columns))
    tm = TableModel(("r", "c"), (leaves, cols), 1, True, (groups, ()))
    x = tm.model_matrix()
    z = np.asarray(x.T @ rng.negative_binomial(2, 0.15, x.shape[0])).ravel()
    primary = (z > 0) & (z < 4)
    secondary_suppress(x[:50][:, :60], primary[:60], z[:60].astype(float))  # compile
    t = time.perf_counter()
    s = secondary_suppress(x, primary, z.astype(float))
    t_sup = time.perf_counter() - t
    t = time.perf_counter()
    a = audit(x, z, s.suppressed, np.zeros(z.size), undetermined=None if args.gate else True)
    t_aud = time.perf_counter() - t
    print(
        f"cells={x.shape[1]} primaries={int(primary.sum())} secondaries={int(s.secondary.sum())} "
        f"suppress={t_sup:.2f}s audit={t_aud:.2f}s passed={a.passed}"
    )


if __name__ == "__main__":
    main()
