import re
import signal
from pathlib import Path

from snakemake.utils import validate

# SLURM's warning signal (--signal=USR1@N, profiles/slurm) is for the training processes, which checkpoint on
# it and exit for resubmission. Snakemake has no handler and would die of it, taking the job with it: the
# snakemake of a job ignores it, and so do the shells and launchers it starts (the trainers install their own).
signal.signal(signal.SIGUSR1, signal.SIG_IGN)

validate(config, schema="../schemas/config.schema.yaml")

from egoflow.features.text_sets import TEXT_SETS
from egoflow.sheet import UID_PATTERN, check_sheet, read_sheet

UID_REGEX = UID_PATTERN.pattern

# --- the demo world ----------------------------------------------------------------------------------------
# videos.sheet and annotations.* may start with {demo}: the world of demo.size, <demo.out>/<demo.size>/.
# The world is planned, and demo_world defined, only when some path points into it; real data never pays.

DEMO_DIR = Path(config["demo"]["out"]) / config["demo"]["size"]
config["videos"]["sheet"] = config["videos"]["sheet"].replace("{demo}", str(DEMO_DIR))
config["annotations"] = {
    k: v.replace("{demo}", str(DEMO_DIR)) for k, v in config["annotations"].items()
}


def in_demo(path):
    return Path(path).resolve().is_relative_to(DEMO_DIR.resolve())


DEMO_WORLD = None
if any(
    in_demo(p) for p in [config["videos"]["sheet"], *config["annotations"].values()]
):
    from egoflow.demo import plan_world

    DEMO_WORLD = plan_world(config["demo"]["size"], config["demo"]["seed"])


def made_by_demo(path):
    """True for a path that demo_world writes (it may not exist yet)."""
    return DEMO_WORLD is not None and in_demo(path)


# --- resources -------------------------------------------------------------------------------------------
# Every rule declares mem_mb and runtime (units s/m/h/d), from its stage's config keys where the config has
# them; profiles add only what composes (GPUs, partitions, account).


def memory(mb):
    """mem_mb of a rule: `mb`, times the attempt when a job is retried (one killed for memory asks for more),
    capped at resources.max_mem_mb (0 = no cap)."""
    cap = config["resources"]["max_mem_mb"]
    return lambda wildcards, attempt: min(mb * attempt, cap) if cap else mb * attempt


def pick(section, *keys):
    """The keys of a config section that change a rule's output, for its params: Snakemake reruns a job whose
    params changed. Run settings (batch_size, device, runtime, ...) stay out; scripts read them from config.
    """
    return {k: section[k] for k in keys}


# --- the video sheet -------------------------------------------------------------------------------------


def load_video_sheet():
    """The sheet named by videos.sheet; the demo world's sheet is planned in memory until demo_world writes it."""
    sheet = Path(config["videos"]["sheet"])
    if sheet.exists():
        table = read_sheet(sheet)
    elif made_by_demo(sheet) and sheet.resolve() == (DEMO_DIR / "sheet.tsv").resolve():
        table = check_sheet(DEMO_WORLD.sheet_table(), base=DEMO_DIR)
    else:
        raise WorkflowError(f"videos.sheet: {sheet} does not exist")
    # One validator for all rows (set_default=False): per-row validation with defaults costs ms per video.
    validate(table, schema="../schemas/sheet.schema.yaml", set_default=False)
    return table


videos = load_video_sheet()
# uid -> absolute path as a plain dict: cheap lookups for input functions on a 10,000-video sheet.
VIDEO_FILES = dict(zip(videos.index, videos["path"]))


def get_video_file(wildcards):
    """The sheet's video path, relative to the working directory when inside it: it then matches demo_world's
    relative outputs (Snakemake compares paths as strings) and moving the project folder reruns nothing.
    """
    if wildcards.video_uid not in VIDEO_FILES:
        raise WorkflowError(
            f"video_uid {wildcards.video_uid!r} is not in the sheet {config['videos']['sheet']}"
        )
    path = Path(VIDEO_FILES[wildcards.video_uid])
    return str(
        path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
    )


def get_video_input(wildcards):
    """The video as an input. With videos.on_error set to skip, a missing file (that no rule makes) is no input
    at all, so that probe_video can list it in rejected.tsv instead of the DAG failing.
    """
    path = Path(get_video_file(wildcards))
    skip = config["videos"]["on_error"] == "skip"
    if skip and not path.exists() and not made_by_demo(path):
        return []
    return str(path)


# --- annotations -----------------------------------------------------------------------------------------


def annotation_inputs(key):
    """Files behind annotations.<key>, for input lists. A folder-valued key inside the demo world expands to the
    files demo_world writes there (Snakemake cannot match a folder against file outputs).
    """
    path = Path(config["annotations"][key])
    if path.suffix or not made_by_demo(path):
        return [str(path)]
    relative = path.resolve().relative_to(DEMO_DIR.resolve())
    return [
        str(DEMO_DIR / f)
        for f in DEMO_WORLD.annotation_files()
        if Path(f).is_relative_to(relative)
    ]


def get_all_annotation_inputs(wildcards):
    return [f for key in config["annotations"] for f in annotation_inputs(key)]


# --- text stage ------------------------------------------------------------------------------------------
# What changes an answer (egoflow.text: the backend's identity, the grammar bounds, the seed) is a param; n_ctx,
# n_batch, n_gpu_layers and the cache path are run settings. The template backend has no llama.cpp settings.

TEXT_MODEL = [
    m
    for m in [config["text"]["llama_cpp"]["model"]]
    if m and config["text"]["backend"] != "template"
]
# "auto" resolved as egoflow.text.backends.make_backend does (the schema requires a model for llama_cpp)
TEXT_BACKEND = "llama_cpp" if TEXT_MODEL else "template"
LLAMA_CPP = (
    pick(
        config["text"]["llama_cpp"],
        "model",
        "chat_format",
        "temperature",
        "top_p",
        "top_k",
        "min_p",
    )
    if TEXT_MODEL
    else None
)


def text_generation(chars):
    """GenerationConfig fields of one request type (`chars`: clip_chars or summary_chars)."""
    return pick(
        config["text"], "seed", "max_attempts", "max_failure_rate", chars, "max_tokens"
    )


# --- features stage --------------------------------------------------------------------------------------
# The set names are egoflow.features.text_sets.TEXT_SETS (the schema cannot import them).

unknown_sets = sorted(set(config["features"]["text"]["sets"]) - set(TEXT_SETS))
if unknown_sets:
    raise WorkflowError(
        f"features.text.sets: unknown set(s) {unknown_sets}; known: {', '.join(TEXT_SETS)}"
    )
TEXT_SET_REGEX = "|".join(TEXT_SETS)


def local_model(path):
    """A model under resources/ is an input (the tiny_models rule builds it); a hub id or outside folder is not."""
    return [path] if path.startswith("resources/") else []


def get_text_set_inputs(wildcards):
    """Named input files of text-feature set {text_set} (the arguments of egoflow.features.text_sets), plus the
    text model when it is a local resources/ folder that the tiny_models rule builds."""
    notes = config["annotations"]
    inputs = {
        "clips": {
            "egoclip": notes["egoclip"],
            "states": rules.merge_text.output.states,
        },
        "summaries": {
            "egosummary": notes["egosummary"],
            "summary_cf": rules.merge_text.output.summary_cf,
        },
        "epic": {
            "verb_classes": notes["epic_verb_classes"],
            "noun_classes": notes["epic_noun_classes"],
            "sentences": notes["epic_retrieval_sentences"],
        },
        "charades": {"classes": notes["charades_classes"]},
    }[wildcards.text_set]
    return {**inputs, "model": local_model(config["features"]["text"]["model"])}


# --- pretrain and evaluate stages ---------------------------------------------------------------------------
# A run is a named entry of pretrain.runs: pretrain.defaults with the run's overrides (egoflow.pretrain.resolve_run).

from egoflow.pretrain import output_settings, resolve_run

PRETRAIN = config["pretrain"]
RUNS = {run: resolve_run(PRETRAIN, run) for run in PRETRAIN["runs"]}
RUN_REGEX = "|".join(re.escape(run) for run in RUNS) or "(?!)"
unknown_runs = sorted(set(config["evaluate"]["runs"]) - set(RUNS))
if unknown_runs:
    raise WorkflowError(
        f"evaluate.runs: {unknown_runs} are not runs of pretrain.runs ({', '.join(RUNS) or 'none'})"
    )


def get_pretrain_inputs(wildcards):
    """The chunked videos, the narrations with their generated states and their text features; the summaries
    with theirs when the run has a video-level objective; the initial checkpoint when it starts from one.
    """
    settings = RUNS[wildcards.run]
    inputs = {
        "manifest": rules.video_manifest.output.manifest,
        "egoclip": config["annotations"]["egoclip"],
        "states": rules.merge_text.output.states,
        "clip_features": expand(rules.text_features.output[0], text_set="clips")[0],
    }
    if settings["loss"].get("aggregation_every", 5) > 0:
        inputs["egosummary"] = config["annotations"]["egosummary"]
        inputs["summary_cf"] = rules.merge_text.output.summary_cf
        inputs["summary_features"] = expand(
            rules.text_features.output[0], text_set="summaries"
        )[0]
    if settings["init"].get("checkpoint"):
        inputs["init"] = settings["init"]["checkpoint"]
    return inputs


def get_zeroshot_inputs(wildcards):
    return {
        "checkpoint": expand(rules.pretrain_model.output.model, run=wildcards.run)[0],
        "questions": config["annotations"][wildcards.task],
        "manifest": rules.video_manifest.output.manifest,
        "text_model": local_model(config["features"]["text"]["model"]),
    }


# --- evaluate stage: fine-tuning and EPIC-100 / Charades-Ego inputs (issue 10) ---------------------------
ZEROSHOT_TASKS = ("egomcq", "summarymcq")
RETRIEVAL_TASKS = ("epic_mir", "charades_ego")


def get_retrieval_inputs(wildcards):
    """A run's encoder, the chunked videos and the task's annotation files (EPIC-100 MIR or Charades-Ego)."""
    notes = config["annotations"]
    inputs = {
        "checkpoint": expand(rules.pretrain_model.output.model, run=wildcards.run)[0],
        "manifest": rules.video_manifest.output.manifest,
        "text_model": local_model(config["features"]["text"]["model"]),
    }
    if wildcards.task == "epic_mir":
        inputs |= {
            "test": notes["epic_retrieval_test"],
            "sentences": notes["epic_retrieval_sentences"],
        }
        if config["evaluate"]["use_relevancy_pickle"]:
            inputs["relevancy"] = notes["epic_relevancy"]
    else:
        inputs |= {"test": notes["charades_test"], "classes": notes["charades_classes"]}
    return inputs


unknown_ft = sorted(set(config["evaluate"]["finetune"]["runs"]) - set(RUNS))
if unknown_ft:
    raise WorkflowError(
        f"evaluate.finetune.runs: {unknown_ft} are not runs of pretrain.runs"
    )


def get_finetuned_inputs(wildcards):
    """A task's retrieval inputs with the run's weights fine-tuned for that task in place of the pretrained ones."""
    inputs = get_retrieval_inputs(wildcards)
    tuned = {
        "epic_mir": rules.evaluate_finetune,
        "charades_ego": rules.evaluate_finetune_charades,
    }[wildcards.task]
    inputs["checkpoint"] = expand(tuned.output.model, run=wildcards.run)[0]
    return inputs


# --- framewise stage (results/framewise/) --------------------------------------------------------------
FRAMEWISE = config["framewise"]


def get_framewise_frames_inputs(wildcards):
    """A phases split's pickle or the GTEA folder, and the chunked videos (through the manifest)."""
    if wildcards.set == "gtea":
        # The folder's files (the script reads the folder).
        labels = annotation_inputs("gtea")
    else:
        labels = f"{config['annotations']['phases']}/{wildcards.set.removeprefix('phases_')}.pkl"
    return {"labels": labels, "manifest": rules.video_manifest.output.manifest}


def get_framewise_released(wildcards):
    """The framewise.released entry of a released-<name> encoder ({} for the others)."""
    if not wildcards.encoder.startswith("released-"):
        return {}
    name = wildcards.encoder.removeprefix("released-")
    if name not in FRAMEWISE["released"]:
        raise ValueError(
            f"framewise.encoders: {wildcards.encoder!r} has no entry {name!r} in framewise.released "
            f"(entries: {sorted(FRAMEWISE['released'])})"
        )
    return FRAMEWISE["released"][name]


def get_framewise_checkpoint(wildcards):
    """carl -> this stage's CARL run; pretrain-<run> -> that pretraining run's model.pt; released-<name> ->
    the file of framewise.released.<name>.checkpoint."""
    if wildcards.encoder == "carl":
        return rules.framewise_carl.output.model
    if wildcards.encoder.startswith("released-"):
        return get_framewise_released(wildcards)["checkpoint"]
    run = wildcards.encoder.removeprefix("pretrain-")
    return expand(rules.pretrain_model.output.model, run=run)[0]


def get_framewise_features_inputs(wildcards):
    inputs = {
        "frames": f"results/framewise/frames/{wildcards.set}.npz",
        "checkpoint": get_framewise_checkpoint(wildcards),
    }
    if wildcards.encoder.startswith("pretrain-"):
        clips = expand(rules.text_features.output[0], text_set="clips")
        inputs["text_features"] = clips[0]
    return inputs


# --- anticipation stage (results/anticipation/) --------------------------------------------------------
ANTICIPATION = config["anticipation"]
SGEAR_RUNS = {
    run: resolve_run(ANTICIPATION["sgear"], run)
    for run in ANTICIPATION["sgear"]["runs"]
}
LTA_RUNS = {
    run: resolve_run(ANTICIPATION["lta"], run) for run in ANTICIPATION["lta"]["runs"]
}
SGEAR_REGEX = "|".join(re.escape(run) for run in SGEAR_RUNS) or "(?!)"
LTA_REGEX = "|".join(re.escape(run) for run in LTA_RUNS) or "(?!)"
FUSION = ANTICIPATION["sgear"]["fusion"]
if sorted(set(FUSION["runs"]) - set(SGEAR_RUNS)) or len(FUSION["runs"]) != len(
    FUSION["weights"]
):
    raise ValueError(
        "anticipation.sgear.fusion: runs must be runs of anticipation.sgear.runs, one weight each; "
        f"got runs {FUSION['runs']} and weights {FUSION['weights']}"
    )
if ANTICIPATION["lta"]["test"] not in config["annotations"]:
    raise ValueError(
        f"anticipation.lta.test: {ANTICIPATION['lta']['test']!r} is not a key of annotations"
    )


def anticipation_store():
    """The visual-feature store S-GEAR and LTA read: a user's RULSTM/AVT store, else ours."""
    return (
        config["features"]["visual"]["existing_lmdb"] or "results/features/visual/lmdb"
    )


def get_sgear_lists(wildcards):
    """The official EK100 unseen / tail lists that are configured (none on the demo world)."""
    return {
        k: ANTICIPATION["sgear"][k]
        for k in ("unseen", "tail_verbs", "tail_nouns")
        if ANTICIPATION["sgear"][k]
    }


# --- states stage (results/states/) --------------------------------------------------------------------
# The settings that change the trained weights (egoflow.states.run): run settings (device, workers, logging,
# checkpoint interval, threads, memory, runtime) stay out of params.


def states_settings():
    section = config["states"]
    return output_settings(
        {k: section[k] for k in ("model", "frames", "method", "optim", "train")}
    )


# --- metrics stage (results/metrics/summary.tsv) -------------------------------------------------------


def get_metrics_inputs(wildcards):
    """Every metrics JSON under results/ that the `all` target asks for (whatever stage makes it), so a new
    stage's or run's results join the table without editing the metrics rule."""
    own = {str(f) for f in rules.metrics_summary.output} | {
        str(f) for f in rules.report_html.output
    }
    files = []
    for item in workflow.get_rule("all").input:
        files += item(wildcards) if callable(item) else [str(item)]
    return sorted(
        {
            f
            for f in files
            if f not in own
            and f.startswith("results/")
            and f.endswith(".json")
            and not f.startswith("results/benchmarks/")
        }
    )


# --- report stage (results/report/index.html) ----------------------------------------------------------
# A stage adds a report section by flagging an output, e.g.
#   report("results/train/{run}/log.csv", category="Training", labels={"title": "Loss", "kind": "curves"})
# Wildcards match every file of that pattern the run produced; kind (see egoflow.report.KINDS) defaults
# to one chosen from the suffix; caption is text or a file.


def get_report_flagged(wildcards):
    """One section per output flagged with report(...), in rule order (asked at job time, so rules defined
    after report.smk count too)."""
    sections = []
    for producer in workflow.rules:
        for item in producer.output:
            flag = item.flags.get("report") if hasattr(item, "flags") else None
            if not flag:
                continue
            labels = {
                k: str(v) for k, v in (flag.labels or {}).items() if isinstance(v, str)
            }
            sections.append(
                {
                    "title": labels.get(
                        "title", f"{producer.name}: {Path(str(item)).name}"
                    ),
                    "kind": labels.get("kind", "auto"),
                    "files": [str(item)],
                    "caption": str(flag.caption or ""),
                    "category": flag.category or producer.name,
                    "source": producer.name,
                }
            )
    return sections


def get_report_inputs(wildcards):
    """Everything the `all` target asks for except the report itself, so the report shows a finished pipeline."""
    own = {str(f) for f in rules.report_html.output}
    files = []
    for item in workflow.get_rule("all").input:
        files += item(wildcards) if callable(item) else [str(item)]
    return [f for f in files if f not in own]
