"""What a run writes: the JSON report and the terminal table (report), and the CI formats
built on it (ci: Markdown, GitHub annotations, SARIF). ci builds on report, never back."""
