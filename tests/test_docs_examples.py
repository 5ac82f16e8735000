"""The README and the docs say what the program does: their examples are run as written.

Conventions in the Markdown (so a reader and this test agree):

- A ```sh block is a walk-through: every line that starts with `etslink` (a
  trailing `\\` continues it; `# …` is a comment; `pip install … && etslink …`
  runs the `etslink` part) is run in order, in one scratch folder per document
  that has the checkout's `fixtures/`, at 80 columns. It must exit 0, unless the
  line ends in a comment `# exits N`. A shell tail (`> file`, `| jq …`) is left off.
- A ```console block is a transcript: `$ etslink …` and the output the program
  prints, compared line by line (trailing spaces ignored); a line `...` stands
  for any number of lines. The command runs in the same folder, after the
  document's walk-through so far.
- Synopses with placeholders (`SCENARIO`, `[--db URL]`) are ```text blocks: not run.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
EXIT_COMMENT = re.compile(r"#\s*exits\s+(\d+)\s*$")
_SHELL_TAIL = re.compile(r"\s[|>]\s(?=[^#]*(#|$))")
TIMEOUT_S = 600


@dataclass(frozen=True)
class Example:
    line: int
    args: list[str]
    exit_code: int = 0
    transcript: list[str] | None = None  # the output a ```console block shows


def examples_of(document: Path) -> list[Example]:
    text = document.read_text(encoding="utf-8")
    found: list[Example] = []
    for fence in FENCE.finditer(text):
        language, body = fence.group(1), fence.group(2)
        first_line = text[: fence.start()].count("\n") + 2
        if language == "sh":
            found.extend(_walk_through(body, first_line))
        elif language == "console":
            found.extend(_transcripts(body, first_line))
    return found


def _walk_through(body: str, first_line: int) -> list[Example]:
    examples: list[Example] = []
    pending = ""
    for offset, raw in enumerate(body.splitlines()):
        line = pending + raw.strip()
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        command = line.split("&&")[-1].strip()
        if not command.startswith("etslink "):
            continue
        command = _SHELL_TAIL.split(command)[0]  # `> file`, `| jq …`: the command alone
        exit_code = 0
        if "#" in command:
            command, _, comment = command.partition("#")
            match = EXIT_COMMENT.search("#" + comment)
            if match:
                exit_code = int(match.group(1))
        examples.append(Example(first_line + offset, shlex.split(command)[1:], exit_code))
    return examples


def _transcripts(body: str, first_line: int) -> list[Example]:
    examples: list[Example] = []
    lines = body.splitlines()
    starts = [index for index, line in enumerate(lines) if line.startswith("$ etslink ")]
    for position, start in enumerate(starts):
        end = starts[position + 1] if position + 1 < len(starts) else len(lines)
        command = lines[start][2:]
        exit_code = 0
        match = EXIT_COMMENT.search(command)
        if match:
            exit_code = int(match.group(1))
            command = command[: match.start()]
        examples.append(
            Example(
                first_line + start,
                shlex.split(command)[1:],
                exit_code,
                [line.rstrip() for line in lines[start + 1 : end]],
            )
        )
    return examples


def matches(expected: list[str], actual: list[str]) -> bool:
    """Return whether `actual` lines fit `expected`, where a line "..." matches any run."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head == "...":
        return any(matches(rest, actual[index:]) for index in range(len(actual) + 1))
    return bool(actual) and actual[0] == head and matches(rest, actual[1:])


def _etslink() -> list[str]:
    script = Path(sys.executable).with_name("etslink")
    return (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "from etslink.cli import main; main()"]
    )


DOCUMENTED = [document for document in DOCUMENTS if examples_of(document)]


@pytest.mark.slow
@pytest.mark.parametrize("document", DOCUMENTED, ids=[d.name for d in DOCUMENTED])
def test_every_example_in_the_document_runs_as_written(document: Path, tmp_path: Path) -> None:
    (tmp_path / "fixtures").symlink_to(ROOT / "fixtures")
    environment = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
    environment.pop("ETSLINK_DB", None)
    for example in examples_of(document):
        done = subprocess.run(
            [*_etslink(), *example.args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=environment,
            timeout=TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
        where = f"{document.name}:{example.line}: etslink {shlex.join(example.args)}"
        assert done.returncode == example.exit_code, f"{where}\n{done.stdout}\n{done.stderr}"
        if example.transcript is not None:
            actual = [line.rstrip() for line in done.stdout.rstrip("\n").splitlines()]
            expected = example.transcript
            while expected and not expected[-1]:
                expected = expected[:-1]
            assert matches(expected, actual), f"{where}: printed\n" + "\n".join(actual)


def test_the_documents_have_examples_to_run() -> None:
    """If the parser found nothing, the test above would check nothing."""
    names = {document.name for document in DOCUMENTED}
    assert {"README.md", "links.md"} <= names
    assert sum(len(examples_of(document)) for document in DOCUMENTED) >= 20


def test_the_transcript_matcher_takes_dots_for_any_lines() -> None:
    assert matches(["a", "...", "d"], ["a", "b", "c", "d"])
    assert matches(["a", "...", "d"], ["a", "d"])
    assert not matches(["a", "...", "d"], ["a", "b"])
    assert not matches(["a", "b"], ["a", "c"])
