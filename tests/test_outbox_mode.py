"""Demo outbox files (one per email, with the patient's address and code) are readable by their owner only."""

from __future__ import annotations

import os
import stat

from django.core.mail import EmailMessage, get_connection


def test_the_default_email_backend_is_the_private_file_one():
    # pytest-django swaps in the locmem backend for tests; settings' own default is read from the module
    from config import settings as project_settings

    assert "EMAIL_BACKEND" not in os.environ
    assert project_settings.EMAIL_BACKEND == "config.mail.PrivateFileEmailBackend"


def test_outbox_files_are_written_mode_0600_in_a_0700_folder(tmp_path):
    # given the file backend writing into a new outbox folder, under a permissive umask
    outbox = tmp_path / "outbox"
    previous = os.umask(0o022)
    connection = get_connection("config.mail.PrivateFileEmailBackend", file_path=str(outbox))
    # when a message is sent
    EmailMessage(
        "Objet", "Votre code : ABCD-EFGH", "from@lab.example", ["jeanne@mail.example"], connection=connection
    ).send()
    os.umask(previous)
    # then only the owner may read the file or list the folder
    (written,) = outbox.iterdir()
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o700
    assert "ABCD-EFGH" in written.read_text()
