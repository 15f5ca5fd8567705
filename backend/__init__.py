"""The StoryStream service: HTTP API, runs, event logs, SSE and persistence."""
