"""Use cases. They get their repositories, mailer and clock passed in."""
