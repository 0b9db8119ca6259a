"""The claims report: verdicts computed from metrics files, rendered as Markdown, JSON and an offline page."""
