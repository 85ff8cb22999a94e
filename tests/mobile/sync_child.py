"""A phone's sync, alone in a process, so a test can SIGKILL it mid-round.

``python -m tests.mobile.sync_child DATA_DIR BATCH`` opens the phone's store and credentials under
DATA_DIR and runs sync rounds until nothing is left to send, printing one line per round.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mobile import CredentialStore, LocalStore, SyncClient, SyncUnavailable
from mobile.session import DB_NAME


def main() -> None:
    directory, batch = Path(sys.argv[1]), int(sys.argv[2])
    store = LocalStore(directory / DB_NAME, photo_dir=directory / "photos")
    credentials = CredentialStore(directory)
    client = SyncClient(str(store.get_meta("server_url")), credentials.token, batch_size=batch)
    while True:
        try:
            report = client.sync_once(store)
        except SyncUnavailable as exc:
            print("offline", exc, flush=True)
            continue
        print("round", report.acknowledged, report.pending, flush=True)
        if report.pending == 0:
            break
    store.close()


if __name__ == "__main__":
    main()
