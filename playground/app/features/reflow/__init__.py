"""The reflow feature."""
