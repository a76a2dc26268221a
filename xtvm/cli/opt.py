"""``xtvm-opt``: an opt-like driver over xtvm's dialects and passes (xDSL's opt main)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from xdsl.xdsl_opt_main import xDSLOptMain

from xtvm.context import make_context
from xtvm.passes.registry import available_pass_factories


class XTVMOptMain(xDSLOptMain):
    def register_all_dialects(self) -> None:
        # one Context built in one place (xtvm.context); replaces xDSL's universe of dialects
        self.ctx = make_context()

    def register_all_passes(self) -> None:
        for name, factory in available_pass_factories().items():
            self.register_pass(name, factory)


def main(argv: Sequence[str] | None = None) -> int:
    XTVMOptMain(description="xtvm modular optimizer driver", args=argv).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
