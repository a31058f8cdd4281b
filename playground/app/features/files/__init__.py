"""The files feature."""
