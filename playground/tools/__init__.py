"""What users run: the command line, the benchmark, quality-vs-steps and sampler explanations."""
