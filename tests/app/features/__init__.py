"""Tests of the feature panels (playground/app/features), each with a real window."""
