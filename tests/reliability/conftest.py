"""The reliability suite reports how many random programs it checked against PyTorch."""
from __future__ import annotations

import sys


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    graphs = sys.modules.get("reliability_graphs")
    if graphs is None or not graphs.CHECKED["graphs"]:
        return
    import torch
    terminalreporter.write_line(
        f"reliability: {graphs.CHECKED['graphs']} random graphs ({graphs.CHECKED['ops']} ops) "
        f"checked against torch {torch.__version__}")
