"""Runs: a generation executes as a background task and publishes typed events to its log.

RunManager.submit ─> RunExecution (task) ─> graph.astream_events ─> EventMapper ─> RunEventLog
                                                                      subscribers <─┘
"""
