"""The only code that talks to AWS (and to argon2, the clock, the environment)."""
