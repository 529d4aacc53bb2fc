"""The headless engine: state, graph, phases, brains, runner, store and CLI. Never imports streamlit."""
