"""Plugins used by the plugin platform's tests (not installed; handed to the host as objects)."""
