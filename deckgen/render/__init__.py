"""Stage 4, render: Markdown to the HTML and tags of every note, through Python-Markdown and the extensions
in `markdown_ext`, cleaned by one allowlist, with images checked; cached, and in parallel when large."""
