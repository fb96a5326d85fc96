"""Developer utilities: the estimator conformance suite."""
