"""Text stage: state changes and counterfactuals for narrations and summaries, from a local LLM or a template.

narrations.py (inputs -> items) -> prompts.py (item -> chat messages) -> backends.py (messages -> raw answer)
-> schema.py (answer -> validated fields) -> generate.py (shards, cache, retries, errors) -> merge.py (upstream JSON).
"""
