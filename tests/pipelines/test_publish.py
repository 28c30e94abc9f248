"""The output folder's lock (:func:`pipelines.publish.folder_lock`), shared by runs, campaigns, scenarios
and review imports: one writer at a time, a clear error for the second, free again once released."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.publish import folder_lock
from pipelines.run import output_lock
from schemas.errors import UserError


def test_a_second_holder_is_refused_at_once_and_the_lock_is_free_after(tmp_path: Path) -> None:
    lock = tmp_path / "made" / ".lock"
    with folder_lock(lock, "busy: try again"):
        assert lock.is_file()  # made with its folder
        with pytest.raises(UserError, match="^busy: try again$"), folder_lock(lock, "busy: try again"):
            pass
        with folder_lock(tmp_path / "other.lock", "busy"):  # another file is another lock
            pass
    with folder_lock(lock, "busy"):  # released when the block ends
        pass


def test_output_lock_names_the_output_folder(tmp_path: Path) -> None:
    with output_lock(tmp_path / "out"), pytest.raises(UserError, match="another povertylink run is writing"), \
            output_lock(tmp_path / "out"):
        pass
