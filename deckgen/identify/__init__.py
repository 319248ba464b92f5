"""Stage 3, identify: which recorded note each question continues, and the GUID of each new one.

The committed identity record and what this machine delivered (read here, written by `output`), deckgen
0.1's record files, which recorded notes are the folder's own, the note types and their guard, which
package each deck goes into."""
