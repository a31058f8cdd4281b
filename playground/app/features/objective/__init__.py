"""The objective feature."""
