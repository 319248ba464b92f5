"""Stage 6, output: the packages (the only genanki import), changelogs, preview, staged writes and the
lock, and the stamp that tells when a build has nothing to do."""
