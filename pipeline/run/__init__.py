"""What one run works with: its context and budget, the code seam to the sandbox, gates, the store, the delivered model's refit."""
