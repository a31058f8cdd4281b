"""The metrics feature."""
