"""The likelihood feature."""
