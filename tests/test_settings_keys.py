"""One settings Key enum: the Compose keys joined it under the names users' settings are stored by."""

from __future__ import annotations

from gdl_studio.ui.settings import Key


def test_compose_keys_keep_their_stored_names():
    assert Key.COMPOSE_SNAP.path == "compose/snap_beats" and Key.COMPOSE_SNAP.default == 0.25
    assert Key.COMPOSE_RECORD_QUANTISE.path == "compose/record_quantise_beats"
    assert Key.COMPOSE_AUDITION.path == "compose/audition" and Key.COMPOSE_AUDITION.default is True
    assert Key.COMPOSE_JAM_ANSWER_NOTES.path == "compose/jam_answer_notes"


def test_every_setting_has_its_own_name():
    paths = [key.path for key in Key]
    assert len(paths) == len(set(paths))
