"""Fetch the pinned real exported models and list them (the manifest, download and checks
live in ``xtvm/testing/real_models.py``; ``run.py --suite real`` benchmarks them).

    python benchmarks/real_models.py [--cache DIR]
"""

from __future__ import annotations

import sys

from xtvm.testing.real_models import main, real_cases

__all__ = ["main", "real_cases"]

if __name__ == "__main__":
    sys.exit(main())
