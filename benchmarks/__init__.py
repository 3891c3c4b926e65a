"""Reproducible speed comparisons of lemmata against PyTorch's CPU build.

Each suite times lemmata and PyTorch (default NCHW and channels_last) alternately in one process,
takes medians over rounds, and reports ratios, because on a shared machine only ratios measured
side by side mean anything.  Run ``lemmata bench`` or ``python -m benchmarks``; results go to
``benchmarks/results.json`` and a markdown table ``benchmarks/results.md``.

PyTorch lives here, never in the ``lemmata`` package; without it the suites time lemmata alone.
"""
