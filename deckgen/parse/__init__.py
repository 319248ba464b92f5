"""Stage 2, parse: each deck file's questions, answers, sections and description, as Markdown, in flat
records that carry their file and line; and the syntax every later stage agrees on."""
