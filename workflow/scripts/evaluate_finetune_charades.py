import sys

sys.stderr = open(snakemake.log[0], "w")

from pathlib import Path

from egoflow.atomic import write_text
from egoflow.evaluate import FinetuneConfig, finetune_charades
from egoflow.features.text_encoder import TextEncoderConfig
from egoflow.train import TrainConfig

settings = snakemake.config["evaluate"]
ft = settings["finetune"]
chosen = snakemake.params.finetune
run_dir = Path(snakemake.params.run_dir)
train_cfg = TrainConfig(
    max_steps=chosen["max_steps"],
    lr=chosen["lr"],
    seed=chosen["seed"],
    checkpoint_every=ft["checkpoint_every"],
    log_every=ft["log_every"],
    device=settings["device"],
)
finetune_charades(
    snakemake.input.checkpoint,
    snakemake.input.train,
    snakemake.input.classes,
    snakemake.input.manifest,
    TextEncoderConfig(**snakemake.params.text, device=settings["device"]),
    run_dir,
    snakemake.output.model,
    run=f"{snakemake.wildcards.run}-finetuned",
    finetune=FinetuneConfig(frames=chosen["frames"], batch_size=chosen["batch_size"]),
    train_cfg=train_cfg,
    temperature=chosen["temperature"],
    threads=snakemake.threads,
)
log = run_dir / "log.csv"
if not Path(snakemake.output.log).exists():
    write_text(snakemake.output.log, log.read_text() if log.exists() else "step,epoch\n")
