"""The explanation feature."""
