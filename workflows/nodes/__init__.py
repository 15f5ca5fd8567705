"""The graph's nodes: each takes the state and the run's context and returns a partial state."""
