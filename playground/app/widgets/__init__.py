"""Reusable widgets and graphics items: the controls panel, particle and overlay items, plots."""
