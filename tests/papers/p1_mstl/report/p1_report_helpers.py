"""What several of P1's report tests build: axes_images, arm_predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd


def axes_images(fig):
    return sum(len(ax.images) for ax in fig.axes)


def arm_predictions(signal: float, n: int = 80, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for arm, shift in (("CTL", 0.0), ("MSTL", signal)):
        y = rng.integers(0, 2, n)
        score = 1 / (1 + np.exp(-(shift * (2 * y - 1) + rng.normal(size=n))))
        frames.append(pd.DataFrame({"tl": arm, "backbone": "ResNet50", "optimizer": "adagrad", "fold": 0,
                                    "path": [f"{arm}{i}.png" for i in range(n)], "y_true": y, "y_score": score}))
    return pd.concat(frames, ignore_index=True)
