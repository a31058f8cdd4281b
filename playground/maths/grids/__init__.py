"""Densities on regular grids: the exact target on every edit (density) and p_t behind a run's frames
(noised). Pictures the window draws, computed here without Qt."""
