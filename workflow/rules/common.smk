import os
import re
from pathlib import Path

from snakemake.utils import validate

validate(config, schema="../schemas/config.schema.yaml")

# Jobs (local, conda or SLURM) import the package from this checkout.
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in [str(Path(workflow.basedir) / "src"), os.environ.get("PYTHONPATH")] if p
)

from egoflow.demo import plan_world
from egoflow.sheet import check_sheet, read_sheet

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
    for record in table.to_dict("records"):
        validate(record, schema="../schemas/sheet.schema.yaml")
    return table


videos = load_video_sheet()


wildcard_constraints:
    video_uid="|".join(re.escape(uid) for uid in videos.index),


def get_video_path(wildcards):
    return videos.loc[wildcards.video_uid, "path"]
