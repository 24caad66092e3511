"""gunicorn settings for the web process (README «Producción»: why these values).

Requests are short (admin pages, exports of at most a few thousand rows, PDF downloads): the
mail is read by the worker processes, never in a request. So sync workers, two per core plus
one, and a timeout that a slow export fits in but a stuck request does not outlive.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# A worker is replaced after this many requests (jittered): memory never creeps.
max_requests = 1000
max_requests_jitter = 100
accesslog = "-"
errorlog = "-"
# Django decides HTTPS from SECURE_PROXY_SSL_HEADER; gunicorn trusts X-Forwarded-* only from here.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
