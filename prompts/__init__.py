"""Prompt templates and the theme catalogue, kept as data files beside this module."""
