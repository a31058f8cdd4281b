"""The forward feature."""
