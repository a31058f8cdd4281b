"""The quality feature."""
