"""Benchmarks: autograd_lite against PyTorch eager and a hand-derived NumPy reference.

Run ``python -m benchmarks`` (or ``python benchmarks/run.py``) from the repository root;
``--help`` lists the options. See ``benchmarks/README.md`` for the latest results.
"""
