"""The benchmarks of QUALITY.md: each reports a ratio against a baseline measured in the same run."""
