"""Browser UI views, one module per domain; every view is thin and reads through the domain services."""
