"""The README documents every setting (so a new knob cannot ship undocumented)."""

from pathlib import Path

from service.settings import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_setting_is_in_the_configuration_table():
    missing = [f"ASCENT_{name.upper()}" for name in Settings.model_fields
               if f"`ASCENT_{name.upper()}`" not in README]
    assert missing == []


def test_both_setup_commands_are_documented():
    assert "make run" in README and "make test" in README
