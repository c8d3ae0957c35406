import sys

sys.stderr = open(snakemake.log[0], "w")

from egoflow.features.language_prototypes import LanguagePrototypeConfig, build_epic_language_prototypes

settings = snakemake.params.prototypes
config = LanguagePrototypeConfig(
    model=settings["model"], batch_size=settings["batch_size"], device=settings["device"]
)
count = build_epic_language_prototypes(
    snakemake.input.verb_classes,
    snakemake.input.noun_classes,
    list(snakemake.input.segments),
    snakemake.output[0],
    config,
)
print(f"{count} actions", file=sys.stderr)
