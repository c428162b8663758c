"""HTTP handlers: parse the request, call one service, answer. No queries here."""
