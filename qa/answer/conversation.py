"""A conversation over one Answerer: its turns, follow-ups made stand-alone, and where they are answered from.

    conv = answerer.conversation()
    conv.ask("Who led Wilayat Khorasan?")
    conv.ask("Which group was he in before?").understood_as  # "Which group was Hafiz Saeed Khan in before?"

A question that stands on its own (every first turn among them) is answered by `Answerer.ask` itself, so
it gets exactly the answer `qa ask` gives. A follow-up is resolved (qa.answer.followup) and answered
first from the passages of the documents the conversation has been citing that mention what it was
resolved to; when that answer is declined, from everything retrieved for it (scope, below).
"""
from __future__ import annotations

import dataclasses
import re
import weakref
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from ..errors import QAError
from ..settings import DEFAULT_K
from ..timing import RESOLVE, stage
from ..types import Answer, Hit, Sentence
from .question import analyse_question, clean_question
from .followup import TURNS_BACK, Mention, Prior, Resolution, resolution
from .retrieval import check_request

MENTION_CITATIONS = 3  # the cited sentences whose entities a turn offers as referents
_STOP = frozenset("the a an of and in on at for to by with from this that these those its his her their".split())
# sentence lookup by (doc_id, start) for each loaded index, made once: an HTTP caller builds a new
# Conversation per request, which must not pay a pass over every sentence each time
_SENTENCES: dict[int, tuple[Any, dict[tuple[str, int], Sentence]]] = {}


@dataclass(frozen=True)
class Turn:
    """One question and its answer: `understood_as` is the stand-alone question answered (None when
    answered as asked); `answer` an Answer, or for a turn given as history its answer dict or text."""
    question: str
    understood_as: Optional[str]
    answer: Any
    prior: Prior = field(repr=False, compare=False, default=Prior(""))


class Conversation:
    """The turns of one conversation over `answerer`, after `history` (earlier turns as dicts
    {"question": ..., "answer": <answer dict or text>, "understood_as": ...optional}). Not thread-safe:
    one conversation is one user's sequence of questions."""

    def __init__(self, answerer, history: Sequence = ()):
        self.answerer = answerer
        self._turns: list[Turn] = [self._history_turn(i, h) for i, h in enumerate(history or ())]

    @classmethod
    def from_history(cls, answerer, history: Sequence) -> "Conversation":
        return cls(answerer, history)

    @property
    def turns(self) -> tuple[Turn, ...]:
        return tuple(self._turns)

    def ask(self, question: str, k: int = DEFAULT_K, docs: Optional[Sequence[str]] = None,
            as_written: bool = False) -> Answer:
        """Answer `question` in the light of the turns before it, and record it as the next turn.
        `as_written=True` answers it exactly as `Answerer.ask` would (it is still recorded).

        Raises QAError as `Answerer.ask` does."""
        q = clean_question(question)
        check_request(self.answerer.index, k, docs)
        r = None
        if not as_written and self._turns:
            with stage(RESOLVE):
                r = resolution(q, [t.prior for t in self._turns[-TURNS_BACK:]])
        answer = self.answerer.ask(q, k=k, docs=docs) if r is None else self._follow_up(q, r, k, docs)
        with stage(RESOLVE):
            self._turns.append(Turn(q, answer.understood_as, answer,
                                    self._prior(answer.understood_as or q, answer.to_dict())))
        return answer

    def _follow_up(self, question: str, r: Resolution, k: int, docs: Optional[Sequence[str]]) -> Answer:
        """Scope: a follow-up is about what the conversation has been reading, so it is answered first
        from the retrieved passages of the documents the last turns cited that mention what it was
        resolved to. Other passages retrieved for it would otherwise vote for whatever the corpus says
        most often (a group named in every document), not what the follow-up is about. The conversation
        can still leave those documents: when that answer is declined (or nothing is left to read), the
        follow-up is answered from everything retrieved, as a new question would be."""
        a = self.answerer
        hits = a.retriever.search(r.question, k=k, docs=docs)[:k]
        with stage(RESOLVE):
            preferred = self._preferred(hits, r.referents)
        answer = a.from_hits(r.question, preferred) if preferred else None
        if answer is None or answer.status == "declined":
            answer = a.from_hits(r.question, hits)
        return dataclasses.replace(answer, question=question, understood_as=r.question)

    def _preferred(self, hits: list[Hit], referents: tuple[str, ...]) -> Optional[list[Hit]]:
        cited = {c.get("doc_id") for t in self._turns[-TURNS_BACK:] for c in _answer_dict(t.answer).get("citations") or ()
                 if isinstance(c, dict)}
        words = {w.lower() for ref in referents for w in re.findall(r"[\w’'-]{3,}", ref) if w.lower() not in _STOP}
        about = re.compile(r"\b(?:%s)\b" % "|".join(map(re.escape, sorted(words))), re.I) if words else None
        keep = [h for h in hits if h.passage.doc_id in cited and (about is None or about.search(h.passage.text))]
        return keep if keep and len(keep) < len(hits) else None

    def _history_turn(self, i: int, h: Any) -> Turn:
        if not isinstance(h, dict) or not isinstance(h.get("question"), str):
            raise QAError(f"history turn {i + 1} must be an object with a \"question\" (text) and an \"answer\"")
        answer = h.get("answer")
        if answer is not None and not isinstance(answer, (str, dict)):
            raise QAError(f"history turn {i + 1}: the answer must be an answer object or text")
        understood = h.get("understood_as") or (answer.get("understood_as") if isinstance(answer, dict) else None)
        if understood is not None and not isinstance(understood, str):
            raise QAError(f"history turn {i + 1}: understood_as must be text or null")
        q = clean_question(h["question"])
        return Turn(q, understood, answer, self._prior(understood or q, _answer_dict(answer)))

    def _prior(self, question: str, d: dict) -> Prior:
        """What resolution reads of a turn: its answer and the analysis of its cited sentences."""
        index = self.answerer.index
        sentences = _sentence_map(index)
        answered = d.get("status") in ("answered", "uncertain") and isinstance(d.get("answer"), str)
        mentions: list[Mention] = []
        label = None
        for c in (d.get("citations") or [])[:MENTION_CITATIONS]:
            s = sentences.get((c.get("doc_id"), c.get("start"))) if isinstance(c, dict) else None
            if s is None:
                continue
            text = index.documents[s.doc_id].text
            mentions += [Mention(text[a:b], lab) for a, b, lab in s.ents]
            a0, a1 = c.get("answer_start"), c.get("answer_end")
            if label is None and isinstance(a0, int) and isinstance(a1, int):
                over = [(min(b, a1) - max(a, a0), lab) for a, b, lab in s.ents if lab != "NP" and a < a1 and a0 < b]
                label = max(over)[1] if over else None
        # an answer given as text only: its type is what its question asked for ("Who ...": a person)
        kind = d.get("answer_type") or (analyse_question(question).answer_type if answered else None)
        return Prior(question, d["answer"] if answered else None, label, kind,
                     tuple(dict.fromkeys(mentions)))


def _answer_dict(answer: Any) -> dict:
    """An answer as its dict: an Answer's to_dict(), a dict as is, text as an answered answer."""
    if isinstance(answer, Answer):
        return answer.to_dict()
    if isinstance(answer, dict):
        return answer
    if isinstance(answer, str) and answer.strip():
        return {"status": "answered", "answer": answer.strip()}
    return {}


def _sentence_map(index) -> dict[tuple[str, int], Sentence]:
    got = _SENTENCES.get(id(index))
    if got is not None and got[0]() is index:
        return got[1]
    m = {(s.doc_id, s.start): s for s in index.sentences}
    _SENTENCES[id(index)] = (weakref.ref(index), m)
    return m
