"""Data loading utilities."""
