"""Printable documents: HTML rendered to PDF by headless Chromium, with the Japanese font embedded."""
