"""Loaded with `-p tests.testenv` before Django is set up.

Fixed, non-default keys (the encryption key as strong as production demands) so the settings
load with DEBUG off, as in production, and a private VAR_DIR so stored mail, documents and the
SQLite test database never land in the work tree.
pytest-xdist workers inherit the controller's environment, hence one directory per run.
The test client and the live server speak plain HTTP, so the redirect to HTTPS is off.
"""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("SECRET_KEY", "test-secret-key")
os.environ.setdefault("RECEPTION_ENCRYPTION_KEY", "T3st-9vKq2Lm8xRz4WbN7cYh1dFj6gAs0ePu5")
os.environ.setdefault("SECURE_SSL_REDIRECT", "False")
os.environ.setdefault("EMAIL_URL", "consolemail://")
os.environ.setdefault("SITE_URL", "http://127.0.0.1:8000")
if "VAR_DIR" not in os.environ:
    os.environ["VAR_DIR"] = tempfile.mkdtemp(prefix="recepcion-tests-")
    atexit.register(shutil.rmtree, os.environ["VAR_DIR"], ignore_errors=True)
