"""The command line: `python -m pipeline` and its verbs."""
