"""The live feature."""
