"""Stage 1, sources: the one walk of a library, its settings (each default declared once) and each deck
file's text and front matter."""
