"""Write Lean targets into the workspace Lake project and check them with Lean."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from formalize.lean_structure import structural_problems
from kg.errors import LeanCheckError
from kg.models import Entity

log = logging.getLogger(__name__)

COMPILED = "compiled"
FAILED = "failed"
NOT_CHECKED = "not checked"

TARGETS_DIR = Path("Lemmagraph") / "Targets"
_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9]+")


@dataclass(frozen=True)
class LeanCheck:
    """The result of checking one target file.

    `status` is "compiled", "failed" or "not checked" and describes the Lean compiler
    run only. `problems` lists the structural problems found without Lean, and `output`
    contains both reports as text.
    """

    status: str
    output: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether Lean compiled the file and no structural problem was found."""
        return self.status == COMPILED and not self.problems


def bundled_lean_template() -> Path:
    """Return the `lean/` template of a source checkout.

    NOTE: the template is not package data, so this path exists only when Lemmagraph
    runs from a checkout or an editable install.
    """
    return Path(__file__).resolve().parents[1] / "lean"


def module_component(text: str) -> str:
    """Turn text into a Lean module name component, for example 'convex-sets' -> 'ConvexSets'.

    The result contains only ASCII letters, digits and '_' and starts with a letter.
    """
    words = [word for word in _NOT_IDENTIFIER.split(text) if word]
    name = "".join(word[0].upper() + word[1:] for word in words)
    if not name or not name[0].isalpha():
        name = "X" + name
    return name


def target_file_name(entity: Entity) -> str:
    """Name the file of an item's target, for example Lemma 3.2 -> 'Lemma3_2.lean'."""
    kind = module_component(entity.kind)
    if entity.number:
        number = "_".join(word for word in _NOT_IDENTIFIER.split(entity.number) if word)
    else:
        number = str(entity.order)
    return f"{kind}{number}.lean"


class LeanProject:
    """The workspace copy of the Lake template, where targets are written and checked."""

    def __init__(
        self,
        workspace_lean_dir: Path,
        template_dir: Path,
        timeout_seconds: float = 600.0,
    ) -> None:
        self.root = workspace_lean_dir
        self.template_dir = template_dir
        # NOTE: 600 s is a guess for one file that imports a prebuilt Mathlib cache. Loading
        # Mathlib's .olean files dominates the time, and a machine with little memory
        # may need more.
        self.timeout_seconds = timeout_seconds

    def ensure(self) -> Path:
        """Copy the template into the workspace if it is not there yet, and return the root."""
        if (self.root / "lakefile.toml").exists():
            return self.root
        if not (self.template_dir / "lakefile.toml").exists():
            raise LeanCheckError(
                f"Lean project template {self.template_dir} has no lakefile.toml. "
                "Pass the lean/ folder of a Lemmagraph checkout as the template."
            )
        try:
            shutil.copytree(
                self.template_dir,
                self.root,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns(".lake", "build"),
            )
        except OSError as error:
            raise LeanCheckError(
                f"Could not copy the Lean template {self.template_dir} to {self.root}: {error}"
            ) from error
        log.info("Created the Lean project %s from %s", self.root, self.template_dir)
        return self.root

    def target_path(self, book_id: str, entity: Entity) -> Path:
        """Return the file path of an item's target, which need not exist yet."""
        return self.root / TARGETS_DIR / module_component(book_id) / target_file_name(entity)

    def write_target(self, book_id: str, entity: Entity, lean_code: str) -> Path:
        """Write the code of an item's target, replacing an earlier attempt, and return the path."""
        self.ensure()
        path = self.target_path(book_id, entity)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(lean_code, encoding="utf-8")
        except OSError as error:
            raise LeanCheckError(f"Could not write the Lean target {path}: {error}") from error
        return path

    def check(self, path: Path) -> LeanCheck:
        """Check a target file: the structural rules always, and compilation when `lake` exists."""
        try:
            code = path.read_text(encoding="utf-8")
        except OSError as error:
            raise LeanCheckError(f"Could not read the Lean target {path}: {error}") from error
        problems = structural_problems(code)
        if problems:
            structure_report = "Structural check failed:\n" + "\n".join(f"- {p}" for p in problems)
        else:
            structure_report = "Structural check passed."

        status, lean_report = self.compile(path)
        return LeanCheck(status=status, output=f"{structure_report}\n\n{lean_report}", problems=problems)

    def compile(self, path: Path) -> tuple[str, str]:
        """Compile one file with `lake env lean` and return ("compiled", "failed" or "not checked", report).

        The compiler log is kept beside the file as `<name>.check.log`.
        """
        lake = shutil.which("lake")
        if lake is None:
            return NOT_CHECKED, "Not compiled: no Lean toolchain (`lake`) was found on PATH."
        if not (self.root / ".lake" / "packages" / "mathlib").is_dir():
            # Checking now would make lake clone Mathlib during the check, so report the fix instead.
            return NOT_CHECKED, (
                f"Not compiled: Mathlib is not fetched in {self.root}. "
                "Run `lake update` and `lake exe cache get` there once."
            )

        command = [lake, "env", "lean", str(path.resolve())]
        log.info("Checking %s with lake env lean", path)
        try:
            result = subprocess.run(
                command,
                cwd=self.root,
                capture_output=True,
                text=True,
                timeout=self.timeout_seconds,
            )
        except subprocess.TimeoutExpired as error:
            log_text = _decode(error.stdout) + _decode(error.stderr)
            self._keep_log(path, log_text)
            return FAILED, f"Lean check timed out after {self.timeout_seconds:g} s.\n{log_text}"
        except OSError as error:
            raise LeanCheckError(f"Could not run {' '.join(command)}: {error}") from error

        log_text = result.stdout + result.stderr
        self._keep_log(path, log_text)
        if result.returncode == 0:
            return COMPILED, f"Lean check passed.\n{log_text}".rstrip()
        return FAILED, f"Lean check failed with exit status {result.returncode}.\n{log_text}".rstrip()

    def _keep_log(self, path: Path, log_text: str) -> None:
        log_path = path.with_suffix(".check.log")
        try:
            log_path.write_text(log_text, encoding="utf-8")
        except OSError as error:
            log.warning("Could not write the Lean log %s: %s", log_path, error)


def _decode(output: bytes | str | None) -> str:
    if output is None:
        return ""
    return output if isinstance(output, str) else output.decode("utf-8", "replace")
