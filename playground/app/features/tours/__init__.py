"""Guided tours: the Tours menu, the tour panel and the player (tours themselves are data: formats/tours)."""
