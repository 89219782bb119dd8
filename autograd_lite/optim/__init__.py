"""Optimizers and learning-rate schedulers (placeholder)."""
