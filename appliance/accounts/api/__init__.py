"""REST API of accounts: API tokens and users."""
