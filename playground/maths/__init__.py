"""GUI-free maths: exact Gaussian-mixture targets, schedules, samplers, likelihood and metrics."""
