"""The search-free stock checkers, one module per family of findings.

`checkers.stock_checker` is the entry point: it decodes the history once (`common`) and runs every
family on each item, in a fixed order: `oversold`, `reads`, `orders`, then `leaks`.
"""
