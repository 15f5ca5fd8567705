"""The LangGraph story workflow; `workflows.graph.graph` is the compiled graph."""
