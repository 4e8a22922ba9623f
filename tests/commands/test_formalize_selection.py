"""Which items `formalize --chapter` and `--section` select, on a stored book shaped like a real one.

In a real book a section heading is stored without its number ("Exercises"), and
several chapters end with a section of that title, so a section is found through
the stored Section nodes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import cli
from commands.formalize_batch import plan_batch
from commands.services import Services
from commands.settings import resolve_settings
from kg.errors import LemmagraphError
from kg.ladybug_store import LadybugStore
from kg.models import Book, BookGraph, Entity, Section
from kg.workspace import Workspace

BOOK = "algebra"
SECTIONS = [
    # (number, title, level, parent number)
    ("1", "Groups", 1, None),
    ("1.1", "Subgroups", 2, "1"),
    ("1.11", "Exercises", 2, "1"),
    ("1.11.1", "Harder exercises", 3, "1.11"),
    ("2", "Rings", 1, None),
    ("2.1", "Ideals", 2, "2"),
    ("2.3", "Worked examples", 2, "2"),
    ("2.5", "Exercises", 2, "2"),
]
ITEMS = [
    # (kind, number, section number)
    ("definition", "1.1", "1.1"),
    ("example", "1.2", "1.1"),
    ("remark", "1.3", "1.1"),
    ("exercise", "1.4", "1.11"),
    ("exercise", "1.5", "1.11.1"),
    ("theorem", "2.1", "2.1"),
    ("example", "2.2", "2.3"),
    ("exercise", "2.3", "2.5"),
]


def section_id(number: str) -> str:
    return f"{BOOK}:section:{number}"


def real_book() -> BookGraph:
    titles = {number: title for number, title, _, _ in SECTIONS}
    sections = [
        Section(section_id(number), BOOK, number, title, level, 1, section_id(parent) if parent else None, order)
        for order, (number, title, level, parent) in enumerate(SECTIONS)
    ]
    entities = [
        Entity(f"{BOOK}:{kind}:{number}", BOOK, kind, number, None, "text", 1, order,
               section=titles[section], section_id=section_id(section))
        for order, (kind, number, section) in enumerate(ITEMS)
    ]
    return BookGraph(book=Book(BOOK, "Algebra", "algebra.pdf", 9, "0" * 64), entities=entities, sections=sections)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    workspace = Workspace(tmp_path / "home").ensure()
    with LadybugStore(workspace.graph_path) as store:
        store.write_book(real_book())
    return workspace.home


@pytest.fixture
def endpoints_file(tmp_path: Path) -> Path:
    path = tmp_path / "endpoints.toml"
    # Port 9 is never contacted: these tests stop before any model call.
    path.write_text('[[endpoints]]\nname = "local"\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\n')
    return path


@pytest.fixture
def services(home: Path):
    services = Services(resolve_settings({"home": home}, environ={}))
    yield services
    services.close()


def selected(services: Services, endpoints_file: Path, **scope) -> list[str]:
    plan = plan_batch(services, BOOK, chapter=scope.get("chapter"), section=scope.get("section"),
                      endpoints_file=endpoints_file, escalate=None)
    return [item.number for item in plan.items]


def run_cli(capsys, monkeypatch, *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["lemmagraph", *args])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        cli.run()
    return exit_info.value.code or 0, capsys.readouterr().err


def test_section_number_includes_subsections(services, endpoints_file):
    assert selected(services, endpoints_file, section="1.11") == ["1.4", "1.5"]
    assert selected(services, endpoints_file, section="1") == ["1.1", "1.4", "1.5"]


def test_section_number_with_title(services, endpoints_file):
    assert selected(services, endpoints_file, section="2.5 Exercises") == ["2.3"]


def test_unique_section_title(services, endpoints_file):
    assert selected(services, endpoints_file, section="ideals") == ["2.1"]


def test_shared_title_lists_numbers(services, endpoints_file):
    with pytest.raises(LemmagraphError) as raised:
        selected(services, endpoints_file, section="Exercises")

    assert "2 sections of algebra are titled 'Exercises'" in str(raised.value)
    assert "1.11 Exercises, 2.5 Exercises" in str(raised.value)


def test_unknown_section_lists_sections(services, endpoints_file):
    with pytest.raises(LemmagraphError) as raised:
        selected(services, endpoints_file, section="3.1")

    assert "no section '3.1' in algebra" in str(raised.value)
    assert "1.11.1 Harder exercises" in str(raised.value)


def test_section_of_left_out_kinds(services, endpoints_file):
    with pytest.raises(LemmagraphError) as raised:
        selected(services, endpoints_file, section="2.3")

    assert "contains only 1 example, which a batch does not formalize" in str(raised.value)
    assert 'lemmagraph formalize algebra "Example 2.2"' in str(raised.value)


def test_unknown_chapter_lists_chapters(services, endpoints_file):
    with pytest.raises(LemmagraphError) as raised:
        selected(services, endpoints_file, chapter="9")

    assert "no items to formalize in chapter 9 of algebra: its chapters are 1, 2" in str(raised.value)
    assert "lemmagraph show" not in str(raised.value)


def test_chapter_counts_left_out_kinds(services, endpoints_file):
    plan = plan_batch(services, BOOK, chapter="1", section=None, endpoints_file=endpoints_file, escalate=None)

    assert [item.number for item in plan.items] == ["1.1", "1.4", "1.5"]
    assert plan.left_out_counts() == {"example": 1, "remark": 1}


def test_cli_shared_title_fails(capsys, monkeypatch, home, endpoints_file):
    status, err = run_cli(capsys, monkeypatch, "--home", str(home), "formalize", BOOK, "--section", "Exercises",
                          "--endpoints", str(endpoints_file))

    assert status == 1
    assert "give the number of one of them with --section: 1.11 Exercises, 2.5 Exercises" in err
