"""The embedded shape's email backend: one file per message under var/outbox/, readable by its owner only.

Demo messages hold a patient's address and status code; Django's file backend writes them with the
process umask (usually 0644, world-readable). Referenced by dotted path from settings.EMAIL_BACKEND.
"""

from __future__ import annotations

import os

from django.core.mail.backends.filebased import EmailBackend


class PrivateFileEmailBackend(EmailBackend):
    """Django's file backend, with the outbox folder 0700 and each message file created 0600."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        os.chmod(self.file_path, 0o700)

    def open(self) -> bool:
        if self.stream is not None:
            return False
        descriptor = os.open(self._get_filename(), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        # A file left by an older run keeps its mode on O_CREAT: tighten it whatever it was.
        os.fchmod(descriptor, 0o600)
        self.stream = os.fdopen(descriptor, "ab")
        return True
