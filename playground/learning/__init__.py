"""The learned side: the MLP denoiser, its trainer and the reference recipe for the benchmark."""
