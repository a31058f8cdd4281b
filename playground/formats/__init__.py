"""Files in and out: presets, checkpoints, sessions, drawings, GIF frames, atomic writes."""
