"""The run views feature."""
