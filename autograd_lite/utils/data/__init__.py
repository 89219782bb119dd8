"""Datasets and DataLoader (placeholder)."""
