"""The model notes feature."""
