"""Fake channel servers for the transport tests: real HTTP on 127.0.0.1, started and stopped by each test.

Each fake checks a request's signature the way its channel does (with the merchant's public key
the test generated) and answers with real bodies. ``mode`` tells it how to misbehave: see each
fake's MODES. The servers run in a thread of the test process, so a child process (``tally
fetch`` in the kill tests) can talk to them too.
"""
