"""Text stage, fast unit tests: item sets, prompts, answer schema + validation, template backend, cache,
retries and error records (through a real scripted Backend subclass), merge layouts."""

from __future__ import annotations

import json

import pytest

from egoflow.errors import InputError
from egoflow.text.backends import Backend, Request, Response, TemplateBackend, make_backend
from egoflow.text.cache import ResponseCache
from egoflow.text.generate import (
    GenerationConfig,
    GenerationFailed,
    check_failure_rate,
    generate_items,
    run_shard,
    write_shard,
)
from egoflow.text.merge import merge_text
from egoflow.text.narrations import (
    Item,
    load_items,
    read_narrations,
    shard,
    subsample,
    text_id,
)
from egoflow.text.prompts import Prompts
from egoflow.text.schema import (
    CLIP_FIELDS,
    SUMMARY_FIELDS,
    answer_schema,
    grammar_from_schema,
    longest_answer,
    validate_answer,
)
from tests.text_fixtures import COLUMNS, NARRATIONS, SUMMARIES, write_sets

PROMPTS = "config/prompts"


@pytest.fixture
def sets(tmp_path):
    return write_sets(tmp_path)


def test_text_id_is_a_hash_of_the_exact_text():
    assert text_id("#C C opens the fridge.") == text_id("#C C opens the fridge.")
    assert text_id("#C C opens the fridge.") != text_id("#C C opens the fridge. ")
    assert len(text_id("x")) == 16


def test_narration_set_is_unique_sorted_and_read_by_column_name(tmp_path, sets):
    narrations, _ = sets
    items = load_items(narrations, "clip")
    assert [i.key for i in items] == sorted(set(NARRATIONS))  # the fixture repeats one narration
    assert all(i.id == text_id(i.key) for i in items)
    # Columns in another order, plus an unnamed pandas index column: still read by name.
    columns = ["", *reversed(COLUMNS)]
    rows = [
        [str(i), "[2]", "[1]", t, "1.0", "0.0", "0.5", "0", "narration_pass_1", "60", "v"]
        for i, t in enumerate(["#C C b.", "#C C a.", "#C C b."])
    ]
    shuffled = tmp_path / "shuffled.tsv"
    shuffled.write_text("\n".join("\t".join(r) for r in [columns, *rows]) + "\n")
    assert read_narrations(shuffled) == ["#C C a.", "#C C b."]
    broken = tmp_path / "broken.tsv"
    broken.write_text("video_uid\tnarration\nv\tx\n")
    with pytest.raises(InputError, match="clip_text|line 1"):
        read_narrations(broken)


def test_summary_windows_subsample_and_missing_hierarchy(sets):
    _, summaries = sets
    items = {i.key: i for i in load_items(summaries, "order")}
    assert set(items) == set(SUMMARIES)
    assert list(items["#Summary C prepares a meal in the kitchen."].narrations) == NARRATIONS[1:7]
    assert items["#Summary C walks around the house."].narrations == ()
    assert items["#Summary C tidies the room."].id.endswith("-order")
    assert subsample(list(range(59))) == list(range(59))
    picked = subsample(list(range(100)))
    assert len(picked) == 30 and picked[:3] == [0, 3, 6]


def test_shards_cover_items_once_and_balance():
    items = [Item("clip", str(i)) for i in range(10)]
    parts = [shard(items, i, 4) for i in range(4)]
    assert sum(parts, []) == items
    assert {len(p) for p in parts} <= {2, 3}


def test_prompts_fill_placeholders_and_reject_broken_templates(tmp_path):
    prompts = Prompts.load(PROMPTS)
    clip = prompts.messages(Item("clip", "#C C opens {summary} the fridge."))
    assert [m["role"] for m in clip] == ["system", "user"]
    assert '"#C C opens {summary} the fridge."' in clip[1]["content"]
    assert "picks a bag of clothes" in clip[1]["content"]  # the one-shot example
    order = prompts.messages(Item("order", "#Summary S.", ("#C C a.", "#C C b.")))
    assert "perturbed" in order[0]["content"]
    assert '"#C C a. #C C b."' in order[1]["content"]  # joined with ". ", not upstream's os.path.join
    bare = prompts.messages(Item("key", "#Summary S."))
    assert "may need" in bare[0]["content"] and "narrations" not in bare[1]["content"]
    (tmp_path / "p").mkdir()
    for name, text in prompts.texts.items():
        (tmp_path / "p" / name).write_text(text.replace("{narration}", "NARRATION"))
    with pytest.raises(InputError, match=r"clip_states.user.txt.*\{narration\}"):
        Prompts.load(tmp_path / "p")


def test_grammar_bounds_answer_length():
    schema = answer_schema("clip", 50)
    grammar = grammar_from_schema(schema)
    assert grammar.count("::=") == 4 and "rest{0,49}" in grammar
    longest = json.dumps({k: "x" * 50 for k in CLIP_FIELDS}, separators=(", ", ": "))
    assert len(longest) == longest_answer(schema)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "not valid JSON"),
        ('["a"]', "not a JSON object"),
        ('{"Before": "a", "After": "b", "CF 1": "c", "CF 2": "d"}', "missing fields: CF 3"),
        ('{"Before": "a", "After": "b", "CF 1": "c", "CF 2": "d", "CF 3": "e", "x": "y"}', "unexpected"),
        ('{"Before": "a", "After": " ", "CF 1": "c", "CF 2": "d", "CF 3": "e"}', "empty field 'After'"),
        ('{"Before": "a", "After": "b", "CF 1": "c", "CF 2": "C.", "CF 3": "e"}', "'CF 1' and 'CF 2'"),
        ('{"Before": "a", "After": "b", "CF 1": "c", "CF 2": "d", "CF 3": "C opens the fridge"}', "copies"),
    ],
)
def test_validation_rejects_with_a_reason(text, reason):
    fields, why = validate_answer("clip", text, "#C C opens the fridge.")
    assert fields is None and reason in why


def test_template_backend_answers_validate_for_every_fixture_item():
    backend = make_backend("auto")  # no GGUF set: template
    assert isinstance(backend, TemplateBackend)
    items = [Item("clip", n) for n in NARRATIONS]
    items += [Item(kind, s, tuple(n or ())) for s, n in SUMMARIES.items() for kind in ("order", "key")]
    for item in items:
        answer = backend.generate(Request(item, [], "", 0, 0)).text
        fields, reason = validate_answer(item.kind, answer, item.key)
        assert reason is None, (item, answer)
        assert tuple(fields) == (CLIP_FIELDS if item.kind == "clip" else SUMMARY_FIELDS)
    fields = json.loads(backend.generate(Request(Item("clip", NARRATIONS[3]), [], "", 0, 0)).text)
    assert fields["Before"] == "The onion is whole." and "cut into pieces" in fields["After"]


class Scripted(Backend):
    """A real backend whose answers are scripted per item: used to drive retries deterministically."""

    name = "scripted"

    def __init__(self, script: dict[str, list[str]]):
        self.script, self.calls = script, []

    def identity(self):
        return {"backend": self.name}

    def generate(self, request):
        self.calls.append((request.item.key, request.seed))
        answers = self.script[request.item.key]
        return Response(answers[min(len(self.calls) - 1, len(answers) - 1)], completion_tokens=7)


GOOD = json.dumps({k: f"state {k}" for k in CLIP_FIELDS})
DUPLICATE = json.dumps({k: "same" for k in CLIP_FIELDS})


def test_retries_then_success_and_error_records(tmp_path):
    prompts = Prompts.load(PROMPTS)
    cache = ResponseCache(tmp_path / "cache.sqlite")
    config = GenerationConfig(max_attempts=3, max_failure_rate=0.0)
    good_late = Scripted({"a": [DUPLICATE, "{bad", GOOD]})
    records, stats = generate_items([Item("clip", "a")], good_late, prompts, cache, config)
    assert records[0]["status"] == "ok" and records[0]["attempts"] == 3
    assert [r["text"] for r in records[0]["responses"]] == [DUPLICATE, "{bad", GOOD]
    assert len({seed for _, seed in good_late.calls}) == 3  # each attempt has its own seed

    never = Scripted({"b": [DUPLICATE]})
    records, stats = generate_items([Item("clip", "b")], never, prompts, cache, config)
    assert records[0]["status"] == "failed" and records[0]["attempts"] == 3
    assert "are the same" in records[0]["reason"]
    write_shard(records, tmp_path / "out.jsonl", tmp_path / "errors.jsonl")
    errors = [json.loads(line) for line in (tmp_path / "errors.jsonl").read_text().splitlines()]
    assert [e["key"] for e in errors] == ["b"] and len(errors[0]["responses"]) == 3
    with pytest.raises(GenerationFailed, match=r"1 of 1 items .*max_failure_rate.*errors.jsonl"):
        check_failure_rate(stats, config, tmp_path / "errors.jsonl")
    check_failure_rate(stats, GenerationConfig(max_failure_rate=1.0), tmp_path / "errors.jsonl")

    # Same settings again: everything comes from the cache, the backend is never called.
    replay = Scripted({"a": ["{never"], "b": ["{never"]})
    again, stats = generate_items([Item("clip", "a"), Item("clip", "b")], replay, prompts, cache, config)
    assert replay.calls == [] and stats.requests_generated == 0 and stats.requests_cached == 6
    assert [r["status"] for r in again] == ["ok", "failed"]
    cache.close()


def test_template_workflow_functions_end_to_end(tmp_path, sets):
    narrations, summaries = sets
    outs = {}
    for kind, queue in (("clip", narrations), ("order", summaries), ("key", summaries)):
        for index in range(2):
            out = tmp_path / kind / f"{index}.jsonl"
            run_shard(
                queue,
                kind,
                index,
                2,
                prompts=PROMPTS,
                cache=tmp_path / "cache.sqlite",
                out=out,
                errors=tmp_path / kind / f"{index}.errors.jsonl",
                config=GenerationConfig(max_failure_rate=0.0),
            )
            outs.setdefault(kind, []).append(out)
    merge_text(
        outs["clip"],
        outs["order"] + outs["key"],
        states=tmp_path / "states.json",
        summary_cf=tmp_path / "summary_cf.json",
        table=tmp_path / "generations.tsv",
    )
    states = json.loads((tmp_path / "states.json").read_text())
    assert set(states) == set(NARRATIONS)
    assert all(list(v) == list(CLIP_FIELDS) for v in states.values())
    summary_cf = json.loads((tmp_path / "summary_cf.json").read_text())
    assert set(summary_cf) == set(SUMMARIES)
    for value in summary_cf.values():
        assert list(value) == ["order", "key"]
        assert list(value["order"]) == list(SUMMARY_FIELDS) == list(value["key"])
    table = (tmp_path / "generations.tsv").read_text().splitlines()
    assert table[0].split("\t") == ["id", "kind", "status", "attempts", "reason", "key", "responses"]
    assert len(table) == 1 + len(NARRATIONS) + 2 * len(SUMMARIES)
