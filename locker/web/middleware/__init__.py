"""The web layer's middleware, in the order config/settings.py runs them: unavailable (a
database or storage failure anywhere below answers 503/507, never 500), request_body (a cut
body is refused whole before anything reads it), safety (the quick-exit lock, no-store and
private headers, the user's time zone and language). The API's Idempotency-Key middleware is
the API's own: locker/api/idempotency.py."""
