"""The pipeline's HTML report: one self-contained page built from what the pipeline has produced.

Sections are data (`Section`): a title, a kind and the files it shows. The workflow passes one section per
built-in view (manifest, frames + texts, stores, runtimes) and one per output a rule flags with
`report(...)`, so a new stage adds a section by declaring an output, not by editing this package.
"""

from egoflow.report.build import build_report
from egoflow.report.sections import KINDS, Section

__all__ = ["KINDS", "Section", "build_report"]
