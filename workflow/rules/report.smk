# The report: one self-contained HTML page of what the pipeline produced (egoflow.report).
# Built-in views are listed below; every output a rule flags with report(...) adds its own section
# (see get_report_flagged in common.smk), so later stages never edit this file or the report code. Views of
# other stages' files name the rules that make them.


rule report_html:
    input:
        get_report_inputs,
    output:
        "results/report/index.html",
    log:
        "logs/report/report_html/all.log",
    benchmark:
        "results/benchmarks/report_html/all.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=memory(4000),
        runtime="30m",
    params:
        title=config["report"]["title"],
        views=[
            {
                "title": "Video manifest",
                "kind": "table",
                "files": [str(rules.video_manifest.output.manifest)],
                "category": "Videos",
                "caption": "workflow/report/manifest.rst",
            },
            {
                "title": "Rejected videos",
                "kind": "table",
                "files": [str(rules.video_manifest.output.rejected)],
                "category": "Videos",
                "caption": "workflow/report/rejected.rst",
            },
            {
                "title": "Sample frames and their state texts",
                "kind": "frames_texts",
                "files": {
                    "states": str(rules.merge_text.output.states),
                    "narrations": config["annotations"]["egoclip"],
                    "manifest": str(rules.video_manifest.output.manifest),
                },
                "category": "Text",
                "caption": "workflow/report/frames_texts.rst",
                "limit": config["report"]["frames"],
            },
            {
                "title": "Text generation outcomes",
                "kind": "table",
                "files": [str(rules.merge_text.output.table)],
                "category": "Text",
                "limit": 20,
            },
            {
                "title": "Feature stores",
                "kind": "stores",
                "files": [
                    "results/features/**/*.h5",
                    "results/features/**/data.mdb",
                ],
                "category": "Features",
                "caption": "workflow/report/stores.rst",
            },
            {
                "title": "Metrics",
                "kind": "metrics",
                "files": ["results/metrics/**/*.json"],
                "category": "Metrics",
            },
        ],
        flagged=get_report_flagged,
        # Shown last, after the sections of flagged outputs.
        closing=[
            {
                "title": "Per-rule runtimes",
                "kind": "runtimes",
                "files": ["results/benchmarks/**/*.tsv"],
                "category": "Runtimes",
                "caption": "workflow/report/runtimes.rst",
            },
        ],
    script:
        "../scripts/report_html.py"
