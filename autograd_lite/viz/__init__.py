"""Graph drawing (placeholder)."""
