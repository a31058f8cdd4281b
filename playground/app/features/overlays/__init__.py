"""The overlays feature."""
