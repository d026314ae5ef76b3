"""`LineageStore.open` skips Alembic when the store is at the head revision: that shortcut's head must be Alembic's."""

from __future__ import annotations

import subprocess
import sys
from importlib import resources

from alembic.config import Config
from alembic.script import ScriptDirectory

from lineage.store import LineageStore
from lineage.store.database import head_revision


def test_head_revision_is_alembics_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(resources.files("lineage.store") / "migrations"))
    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()


def test_reopening_a_migrated_store_does_not_import_alembic(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    LineageStore.open(url).dispose()  # creates and migrates
    code = (f"import sys; from lineage.store import LineageStore; s = LineageStore.open({url!r}); "
            "s.event_count(); s.dispose(); print('alembic' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
