"""Runs: a generation executes as a background task and publishes typed events to its log.

RunManager.submit ─> execute_run (task) ─> graph.astream_events ─> EventMapper ─> RunEventLog
                                                                     subscribers <─┘
"""
