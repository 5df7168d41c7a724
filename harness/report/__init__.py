"""Human-readable reports of checks and runs (self-contained HTML files)."""

from harness.report.check_view import render_check_html

__all__ = ["render_check_html"]
