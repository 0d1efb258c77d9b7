"""Progress bars with ETA when a person is watching (stderr is a terminal), silence otherwise:
CI logs and nohup files get the loop's one line per unit instead."""
from __future__ import annotations

import sys

from tqdm import tqdm


def bar(total: int, desc: str) -> tqdm:
    """A bar of `total` steps, shown only where stderr is a terminal and cleared when it closes."""
    return tqdm(total=total, desc=desc, leave=False, disable=not sys.stderr.isatty())
