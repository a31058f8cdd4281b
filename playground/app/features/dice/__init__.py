"""The dice feature."""
