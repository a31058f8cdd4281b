"""The window benchmarks (frames per second, overlays, live samples, edits, start-up probe): Qt code
that playground.tools.bench (the command) calls; nothing in the app imports it."""
