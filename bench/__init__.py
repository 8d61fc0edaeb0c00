"""Benchmarks that print tables: every ratio is measured against a baseline in the same run.

Run them as scripts (``python bench/compare.py``) or as modules
(``python -m bench.compare``); nothing here is imported by ``store`` or ``tui``.
"""
