"""The editing feature."""
