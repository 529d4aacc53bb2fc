"""What a run leaves behind: the export bundle, prediction, the model registry, templates."""
