"""The comparison feature."""
