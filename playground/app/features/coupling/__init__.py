"""The pairing of noise and data that flow matching trains on, drawn (issue: couplings)."""
