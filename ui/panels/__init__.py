"""One module per phase panel (profile, features, plots, model, evaluation, critic) and what they share."""
