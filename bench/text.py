"""Synthetic text for the workloads: task titles, chat prose and agent output logs.

Texts are cut from two corpora built once per seed (a few MB of words drawn from a fixed
vocabulary), so a 100,000-session workload needs no per-character generation: a document is a
slice of a corpus at a random offset. A few marker words are planted at known rates so that the
search scenarios hit a realistic fraction of documents:

- ``deadlock`` (the full-text ``search`` scenario) in about 2-3 % of outputs and 0.3 % of
  messages, and in 1 task template out of 60;
- ``auth`` (the complex query's ``search_query`` substring) in the authentication task
  templates and in the ``authentication-specialist`` agent name.
"""

from __future__ import annotations

import functools
import random

__all__ = [
    "Corpus",
    "corpus",
    "TASK_TEMPLATES",
    "AGENT_NAMES",
    "SEARCH_WORD",
    "SUBSTRING",
]

SEARCH_WORD = "deadlock"
SUBSTRING = "auth"

_WORDS = """
the a to of and in for is that this with it on be as are at by not from or an was we can will
if use when then new add fix test run build file code data value error type call return function
module class method field config option cache index query table row column session instance
message output agent worktree branch commit merge review change update delete create read write
load save parse check handle request response server client token user account password login
logout permission role service handler router endpoint api schema migration database sqlite json
async await thread lock queue retry timeout backoff worker process signal event stream buffer
socket connection pool transaction rollback savepoint cursor statement prepare bind step result
list map set key item node tree path dir name size count limit offset page sort filter search
match pattern regex string number integer boolean null empty missing invalid valid warning info
debug trace log line column span range start end begin finish done ok failed passed skipped
compile link build release package version dependency lockfile cargo npm pip rust python
typescript react component state props hook effect render style layout theme window panel editor
terminal tmux pane shell command script env variable secret key hash checksum sha256 base64
""".split()

_LOG_TEMPLATES = [
    "[{t}] Running {w} {w} in src/{w}/{w}_{n}.rs",
    "[{t}] test {w}::{w}_{w} ... ok",
    "[{t}] test {w}::{w}_{w} ... FAILED",
    "[{t}] Compiling {w}-{w} v0.{n}.{n}",
    "[{t}] warning: unused variable `{w}_{w}` at line {n}",
    "[{t}] error[E0{n}]: mismatched types in {w} {w}",
    "[{t}] Edited src/{w}/{w}.ts (+{n} -{n})",
    "[{t}] $ git diff --stat | {w} {w} {w}",
    "[{t}] {w} {w} {w} {w} {w} {w} {w} {w}",
    "[{t}] Reading {w}/{w}_{n}.py lines {n}-{n}",
    "[{t}] {n} passed, {n} failed, {n} skipped in {n}.{n}s",
]

_TASK_VERBS = [
    "Implement",
    "Refactor",
    "Fix",
    "Add",
    "Optimize",
    "Document",
    "Test",
    "Migrate",
]
_TASK_OBJECTS = [
    "user authentication with JWT tokens",
    "OAuth login flow",
    "the auth middleware",
    "database layer",
    "session storage",
    "the search index",
    "API rate limiting",
    "websocket reconnect logic",
    "the settings panel",
    "dark mode theme",
    "CSV export",
    "error reporting",
    "the build pipeline",
    "unit tests for the parser",
    "file watcher",
    "a retry policy for flaky network calls",
    "the tmux pane manager",
    "worktree cleanup",
    "memory leak in the editor",
    "keyboard shortcuts",
    "i18n strings",
    "the plugin loader",
    "pagination in the session list",
    "diff viewer performance",
    "a deadlock in the job queue",
    "logging configuration",
    "the metrics dashboard",
    "CLI argument parsing",
    "dependency upgrades",
    "accessibility of dialogs",
]
TASK_TEMPLATES = [f"{verb} {obj}" for verb in _TASK_VERBS for obj in _TASK_OBJECTS]

AGENT_NAMES = [
    "backend-developer",
    "frontend-developer",
    "authentication-specialist",
    "security-tester",
    "database-architect",
    "api-designer",
    "test-engineer",
    "performance-engineer",
    "devops-engineer",
    "refactoring-specialist",
    "documentation-writer",
    "code-reviewer",
]


def _timestamp(rng: random.Random) -> str:
    return f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"


class Corpus:
    """Two long texts (agent logs and chat prose) and cheap slices of them."""

    def __init__(
        self, seed: int, log_chars: int = 4_000_000, prose_chars: int = 1_000_000
    ):
        rng = random.Random(f"corpus:{seed}")
        weights = [1.0 / (rank + 1) for rank in range(len(_WORDS))]  # Zipf-like
        self.log = self._logs(rng, weights, log_chars)
        self.prose = self._prose(rng, weights, prose_chars)

    @staticmethod
    def _words(
        rng: random.Random, weights: list[float], count: int, rate: float
    ) -> list[str]:
        words = rng.choices(_WORDS, weights, k=count)
        for index in range(count):
            if rng.random() < rate:
                words[index] = SEARCH_WORD
        return words

    def _logs(self, rng: random.Random, weights: list[float], size: int) -> str:
        # Lines use about a third of the words drawn; ~1 marker per 36,000 words used puts one
        # in about 3 % of 8 KB outputs.
        words = iter(self._words(rng, weights, size // 3, 1 / 12_000))
        lines, total = [], 0
        while total < size:
            template = rng.choice(_LOG_TEMPLATES)
            line = template.replace("{t}", _timestamp(rng))
            while "{w}" in line:
                line = line.replace("{w}", next(words), 1)
            while "{n}" in line:
                line = line.replace("{n}", str(rng.randrange(1000)), 1)
            lines.append(line)
            total += len(line) + 1
        return "\n".join(lines)

    def _prose(self, rng: random.Random, weights: list[float], size: int) -> str:
        words = self._words(rng, weights, size // 5, 1 / 30_000)
        sentences, start = [], 0
        while start < len(words):
            length = rng.randint(6, 20)
            sentence = " ".join(words[start : start + length])
            sentences.append(sentence[:1].upper() + sentence[1:] + ".")
            start += length
        return " ".join(sentences)

    @staticmethod
    def _slice(text: str, rng: random.Random, size: int) -> str:
        size = max(1, min(size, len(text) - 1))
        start = rng.randrange(len(text) - size)
        piece = text[start : start + size].strip()
        return piece or text[:size]

    def output(self, rng: random.Random, size: int) -> str:
        """An agent output log of about ``size`` characters."""
        if size <= len(self.log) - 1:
            return self._slice(self.log, rng, size)
        repeats = size // len(self.log) + 1
        return self._slice(self.log * repeats, rng, size)

    def message(self, rng: random.Random, size: int) -> str:
        """Chat prose of about ``size`` characters."""
        return self._slice(self.prose, rng, size)


@functools.lru_cache(maxsize=4)
def corpus(seed: int) -> Corpus:
    return Corpus(seed)
