"""Dramatiq broker set-up, thin actors, the outbox relay and e-mail delivery."""
