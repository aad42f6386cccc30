"""OpenHands as a test generator: the Agent Server REST API behind the `TestGenerator` protocol.

Split by concern: `errors` (one hierarchy callers catch by kind), `payloads` (the only place raw API
JSON is read), `breaker` (fail fast on a dead server), `client` (timeouts, retries, redaction),
`settings`, and `generator` (the protocol: what a task is on the server and what comes back).
"""
