"""REPORT: the yearly report — view model, secret statistique, charts, rendering (Markdown, HTML, PDF), export."""
