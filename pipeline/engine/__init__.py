"""Walks the graph: the phases in order, the critic's loops, finalize, and the thread service pages and the CLI start runs through."""
