"""Stage 5, plan: every note's time, each package's version, the changes and the new record; warnings.
A pure function of what the stages before it made: it writes nothing."""
