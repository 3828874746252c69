"""The shape of each evaluation's test losses: mean, median, how many of the runs end above
0.07, the five worst, beside NAG's mean and the paired difference; then, over all the files,
NAG's final loss on the runs that most of the young optimizers end badly on.

    python training/fast-recipe/exploration/session10/tails.py \\
        'training/time-to-win-s9c/*min.json' 'training/time-to-win-s10/*min.json' \\
        'training/time-to-win-fast2/*min.json'
"""

import glob
import json
import sys

import numpy as np

learned, nag = [], None
for pattern in sys.argv[1:]:
    for path in sorted(glob.glob(pattern)):
        d = json.load(open(path))
        a, n = np.array(d["lstm"]["finals"]), np.array(d["nag"]["finals"])
        learned.append(a)
        nag = n  # the same 50 test runs and the same tuned NAG in every file
        lo, hi = d["paired"]["diff_ci95"]
        print(f"{path.split('/')[-1]}: mean {a.mean():.4f} median {np.median(a):.4f} "
              f"above 0.07: {(a > 0.07).sum()} worst five {np.sort(a)[-5:].round(3)} | "
              f"NAG mean {n.mean():.4f}, learned - NAG {d['paired']['mean_diff']:+.4f} "
              f"[{lo:+.4f}, {hi:+.4f}]")
bad = (np.array(learned) > 0.07).sum(0)
many = bad >= max(1, int(np.ceil(0.75 * len(learned))))
print(f"runs above 0.07 for at least three quarters of the {len(learned)} optimizers: "
      f"{many.sum()}; NAG's final loss on them: median {np.median(nag[many]):.3f} "
      f"({nag[many].min():.3f}-{nag[many].max():.3f}), on the others: median "
      f"{np.median(nag[~many]):.3f}")
