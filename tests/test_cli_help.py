"""`qa COMMAND --help` for every command: a description, worked examples, and examples the real parser accepts."""
from __future__ import annotations

import contextlib
import io
import shlex

import pytest
from qa.cli import build_parser
from qa.cli_help import COMMANDS, walk

PATHS = [path for path, _ in walk(build_parser()) if path]  # "ask", "bench squad", "users add", ...
TOP = [path for path in PATHS if " " not in path]


def help_of(path: str) -> str:
    """What `qa PATH --help` prints, through the real parser (argparse prints, then exits)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as e:
        build_parser().parse_args([*path.split(), "--help"])
    assert e.value.code == 0
    return out.getvalue()


def description(text: str) -> str:
    """The paragraphs between the usage block and the first argument section."""
    blocks = text.split("\n\n")
    assert blocks[0].startswith("usage: ")
    kept = []
    for b in blocks[1:]:
        if b.split("\n")[0] in ("positional arguments:", "options:", "optional arguments:"):
            break
        kept.append(b)
    return "\n\n".join(kept).strip()


def examples(text: str) -> list[str]:
    """The command lines under the `examples` heading; notes are shell comments and are left out."""
    head, found, tail = text.partition("\nexamples")
    assert found, "no examples section"
    lines = [ln.strip() for ln in tail.split("\n")[1:]]
    return [ln for ln in lines if ln and not ln.startswith("#")]


def qa_commands(line: str) -> list[list[str]]:
    """The arguments of each `qa` command of a shell line; pipes split commands, `> FILE` is no argument."""
    lex = shlex.shlex(line, posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    commands, words, redirected = [], [], False
    for w in [*lex, "|"]:
        if w in ("|", "&&", ";"):
            if words and words[0] == "qa":
                commands.append(words[1:])
            words = []
        elif w in (">", ">>", "<"):
            redirected = True
        elif redirected:
            redirected = False
        else:
            words.append(w)
    return commands


@pytest.mark.parametrize("path", PATHS)
def test_every_command_says_what_it_is_for_with_an_example(path):
    text = help_of(path)
    assert len(description(text)) > 40, f"qa {path} --help has no description"
    own = [args for line in examples(text) for args in qa_commands(line) if args[:len(path.split())] == path.split()]
    assert own, f"qa {path} --help shows no example of `qa {path}`"


def test_qa_help_lists_one_example_for_every_command():
    shown = [args[0] for line in examples(help_of("")) for args in qa_commands(line)]
    assert set(shown) >= set(TOP), f"no example for {sorted(set(TOP) - set(shown))}"
    # one line per command, the first example of that command's own --help
    assert examples(help_of("")) == [examples(help_of(c))[0] for c in TOP]


def test_every_example_is_a_command_line_the_parser_accepts():
    lines = {line for path in ["", *PATHS] for line in examples(help_of(path))}
    assert len(lines) > len(PATHS)
    for line in sorted(lines):
        commands = qa_commands(line)
        assert commands, f"example {line!r} runs no qa command"
        for args in commands:
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                try:
                    ns = build_parser().parse_args(args)
                except SystemExit:
                    pytest.fail(f"example {line!r} does not parse: {err.getvalue().strip()}")
            assert ns.command == args[0]


def test_every_argument_has_help():
    missing = [f"qa {path} {a.option_strings or a.dest}" for path, p in walk(build_parser())
               for a in p._actions if not a.help]
    assert not missing, missing


def test_the_help_table_names_only_commands_that_exist():
    # a renamed command must not leave its help behind, unused
    assert set(COMMANDS) == set(PATHS)


@pytest.mark.parametrize("path", PATHS)
def test_the_examples_keep_their_lines(path):
    # printed as written, one command a line: a wrapped or joined example would not paste into a shell
    text = help_of(path) + "\n"
    for ex in COMMANDS[path].examples:
        for line in ex.lines:
            assert f"\n  {line}\n" in text
