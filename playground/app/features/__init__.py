"""Feature panels, one folder each: each has install(state, services, ui) (see shell/features.py)."""
