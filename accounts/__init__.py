"""Accounts: password change and reset, and the forced change of a password an admin set."""
