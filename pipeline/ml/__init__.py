"""The machine-learning core: metrics, the model families, the shipped runtime, cross-validation, tuning, the fit clock, objective parsing, leakage checks."""
