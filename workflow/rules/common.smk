from pathlib import Path

from snakemake.utils import validate

validate(config, schema="../schemas/config.schema.yaml")

from egoflow.demo import plan_world
from egoflow.sheet import UID_PATTERN, check_sheet, read_sheet

DEMO_DIR = Path(config["demo"]["out"]) / config["demo"]["size"]
DEMO_WORLD = plan_world(config["demo"]["size"], config["demo"]["seed"])


def load_video_sheet():
    """The sheet named by videos.sheet; the demo world's sheet is planned in memory until demo_world writes it."""
    sheet = Path(config["videos"]["sheet"])
    if sheet.exists():
        table = read_sheet(sheet)
    elif sheet.resolve() == (DEMO_DIR / "sheet.tsv").resolve():
        table = check_sheet(DEMO_WORLD.sheet_table(), base=DEMO_DIR)
    else:
        raise WorkflowError(f"videos.sheet: {sheet} does not exist")
    # One validator for all rows (set_default=False): per-row validation with defaults costs ms per video.
    validate(table, schema="../schemas/sheet.schema.yaml", set_default=False)
    return table


videos = load_video_sheet()
# uid -> absolute path as a plain dict: cheap lookups for input functions on a 10,000-video sheet.
VIDEO_FILES = dict(zip(videos.index, videos["path"]))
UID_REGEX = UID_PATTERN.pattern


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


def annotation_inputs(key):
    """Files behind annotations.<key>, for input lists. A folder-valued key inside the demo world expands to the
    files demo_world writes there (Snakemake cannot match a folder against file outputs).
    """
    path = Path(config["annotations"][key])
    inside_demo = path.resolve().is_relative_to(DEMO_DIR.resolve())
    if not inside_demo or path.suffix:
        return [str(path)]
    relative = path.resolve().relative_to(DEMO_DIR.resolve())
    return [
        str(DEMO_DIR / f)
        for f in DEMO_WORLD.annotation_files()
        if Path(f).is_relative_to(relative)
    ]


def get_all_annotation_inputs(wildcards):
    return [f for key in config["annotations"] for f in annotation_inputs(key)]


# --- videos stage ----------------------------------------------------------------------------------------


def get_video_input(wildcards):
    """The video as an input. With videos.on_error set to skip, a missing file is no input at all, so that
    probe_video can list it in rejected.tsv instead of the DAG failing."""
    path = Path(get_video_file(wildcards))
    skip = config["videos"]["on_error"] == "skip"
    if skip and not path.exists() and not path.is_relative_to(DEMO_DIR):
        return []
    return str(path)


# --- features stage ------------------------------------------------------------------------------------


def get_text_set_inputs(wildcards):
    """Named input files of text-feature set {text_set} (the arguments of egoflow.features.text_sets), plus the
    text model when it is a local resources/ folder that the tiny_models rule builds."""
    notes = config["annotations"]
    inputs = {
        "clips": {"egoclip": notes["egoclip"], "states": "results/text/states.json"},
        "summaries": {
            "egosummary": notes["egosummary"],
            "summary_cf": "results/text/summary_cf.json",
        },
        "epic": {
            "verb_classes": notes["epic_verb_classes"],
            "noun_classes": notes["epic_noun_classes"],
            "sentences": notes["epic_retrieval_sentences"],
        },
        "charades": {"classes": notes["charades_classes"]},
    }[wildcards.text_set]
    model = config["features"]["text"]["model"]
    if model.startswith("resources/"):
        inputs["model"] = model
    return inputs


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
