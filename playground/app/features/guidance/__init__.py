"""The guidance feature."""
