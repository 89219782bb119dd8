"""Hypothesis strategies and gradient checks for users (placeholder)."""
