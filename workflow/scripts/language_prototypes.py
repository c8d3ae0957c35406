import sys

sys.stderr = open(snakemake.log[0], "w")

from egoflow.features.language_prototypes import LanguagePrototypeConfig, build_epic_language_prototypes

# Run settings (speed, not vectors) come from the config, so changing them reruns nothing.
run = snakemake.config["features"]["language_prototypes"]
config = LanguagePrototypeConfig(
    model=snakemake.params.model, batch_size=run["batch_size"], device=run["device"]
)
count = build_epic_language_prototypes(
    snakemake.input.verb_classes,
    snakemake.input.noun_classes,
    list(snakemake.input.segments),
    snakemake.output[0],
    config,
)
print(f"{count} actions", file=sys.stderr)
