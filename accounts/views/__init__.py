"""Pages of the accounts app: user administration and personal API tokens."""
